#include "cfb_bounds.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "little_endian.h"

namespace tollgate::ole2 {
namespace {

constexpr std::array<uint8_t, 8> kSignature = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
constexpr size_t kHeaderSize = 512;
constexpr size_t kHeaderFatSectors = 109;  // the DIFAT's first part, in the header
constexpr size_t kDirectoryEntrySize = 128;
constexpr uint8_t kStorage = 1, kStream = 2, kRoot = 5;

// Sectors and the FAT of a compound file, read the way libgsf reads them.
class SectorMap {
 public:
  SectorMap(std::span<const uint8_t> file, uint32_t shift) : file_(file), shift_(shift) {}

  uint32_t entries_per_sector() const { return (1u << shift_) / 4; }

  // The bytes of sector `index`; empty when it is not wholly inside the file. The header fills
  // sector "-1", padded to a full sector for 4096-byte sectors.
  std::span<const uint8_t> Sector(uint32_t index) const {
    const uint64_t size = uint64_t{1} << shift_;
    const uint64_t start = (uint64_t{index} + 1) << shift_;
    if (start + size > file_.size()) return {};
    return file_.subspan(start, size);
  }

  // Collects the FAT's sector numbers from the header and the DIFAT chain.
  void ReadFatSectors(uint32_t count) {
    std::span<const uint8_t> header = file_.first(kHeaderSize);
    for (uint32_t i = 0; i < std::min<size_t>(count, kHeaderFatSectors); ++i) {
      fat_sectors_.push_back(Le32(header, 0x4C + 4 * i));
    }
    uint32_t difat_sector = Le32(header, 0x44);
    const uint32_t per_difat_sector = entries_per_sector() - 1;  // the last entry links the next one
    while (fat_sectors_.size() < count) {
      std::span<const uint8_t> sector = Sector(difat_sector);
      if (sector.empty()) return;  // libgsf fails on this file itself
      for (uint32_t i = 0; i < per_difat_sector && fat_sectors_.size() < count; ++i) {
        fat_sectors_.push_back(Le32(sector, 4 * i));
      }
      difat_sector = Le32(sector, 4 * per_difat_sector);
    }
  }

  uint64_t fat_entries() const { return uint64_t{fat_sectors_.size()} * entries_per_sector(); }

  // A FAT entry; one past the FAT (an end of chain for libgsf) when its FAT sector is unreadable.
  uint32_t FatEntry(uint32_t index) const {
    std::span<const uint8_t> sector = Sector(fat_sectors_[index / entries_per_sector()]);
    if (sector.empty()) return UINT32_MAX;
    return Le32(sector, 4 * (index % entries_per_sector()));
  }

  // The sectors of the chain starting at `first`, followed as libgsf does (until an entry outside
  // the FAT or a sector seen before), but never more than `limit` + 1 of them.
  std::vector<uint32_t> Chain(uint32_t first, size_t limit) const {
    std::vector<uint32_t> chain;
    std::vector<bool> seen(fat_entries());
    for (uint32_t sector = first; sector < fat_entries() && !seen[sector] && chain.size() <= limit;
         sector = FatEntry(sector)) {
      seen[sector] = true;
      chain.push_back(sector);
    }
    return chain;
  }

 private:
  std::span<const uint8_t> file_;
  uint32_t shift_;
  std::vector<uint32_t> fat_sectors_;
};

Status Refuse(std::string reason) { return DataLoss("OLE2: " + std::move(reason)); }

// The deepest recursion libgsf's directory parser reaches: from the root it visits an entry's left
// sibling, then its right sibling, then (for storages) its child, each one frame deeper, skipping
// entries it has seen and entries of an unknown type.
uint32_t DirectoryDepth(const SectorMap& map, const std::vector<uint32_t>& sectors, uint32_t sector_size,
                        uint32_t give_up_above) {
  const uint32_t per_sector = sector_size / kDirectoryEntrySize;
  const uint64_t entries = uint64_t{sectors.size()} * per_sector;
  std::vector<bool> seen(entries);
  struct Visit {
    uint32_t entry;
    uint32_t depth;
  };
  std::vector<Visit> pending = {{0, 1}};
  uint32_t deepest = 0;
  while (!pending.empty() && deepest <= give_up_above) {
    const Visit visit = pending.back();
    pending.pop_back();
    if (visit.entry >= entries || seen[visit.entry]) continue;
    seen[visit.entry] = true;
    deepest = std::max(deepest, visit.depth);
    std::span<const uint8_t> sector = map.Sector(sectors[visit.entry / per_sector]);
    if (sector.empty()) continue;
    std::span<const uint8_t> record =
        sector.subspan((visit.entry % per_sector) * kDirectoryEntrySize, kDirectoryEntrySize);
    const uint8_t type = record[0x42];
    if (type != kStorage && type != kStream && type != kRoot) continue;
    // Pushed in reverse, so the left sibling is visited first, as in libgsf.
    if (visit.entry == 0 || type != kStream) pending.push_back({Le32(record, 0x4C), visit.depth + 1});
    pending.push_back({Le32(record, 0x48), visit.depth + 1});
    pending.push_back({Le32(record, 0x44), visit.depth + 1});
  }
  return deepest;
}

}  // namespace

Status CheckCompoundFileBounds(std::span<const uint8_t> file, const CompoundFileBounds& bounds) {
  if (file.size() < kHeaderSize || !std::equal(kSignature.begin(), kSignature.end(), file.begin())) {
    return Refuse("no compound file header");
  }
  const uint16_t shift = Le16(file, 0x1E);
  if (shift != 9 && shift != 12) return Refuse(fmt::format("unsupported sector size 2^{}", shift));
  const uint32_t sector_size = 1u << shift;
  SectorMap map(file, shift);

  const uint32_t fat_sectors = Le32(file, 0x2C);
  if (uint64_t{fat_sectors} * map.entries_per_sector() > bounds.max_table_entries) {
    return Refuse(fmt::format("a FAT of {} sectors is larger than {} entries", fat_sectors, bounds.max_table_entries));
  }
  map.ReadFatSectors(fat_sectors);

  const size_t mini_fat_sectors_max = bounds.max_table_entries / map.entries_per_sector();
  if (map.Chain(Le32(file, 0x3C), mini_fat_sectors_max).size() > mini_fat_sectors_max) {
    return Refuse(fmt::format("a mini FAT larger than {} entries", bounds.max_table_entries));
  }

  const size_t directory_sectors_max = bounds.max_directory_entries / (sector_size / kDirectoryEntrySize);
  const std::vector<uint32_t> directory = map.Chain(Le32(file, 0x30), directory_sectors_max);
  if (directory.size() > directory_sectors_max) {
    return Refuse(fmt::format("a directory of more than {} entries", bounds.max_directory_entries));
  }
  if (DirectoryDepth(map, directory, sector_size, bounds.max_directory_depth) > bounds.max_directory_depth) {
    return Refuse(fmt::format("directory entries nested deeper than {}", bounds.max_directory_depth));
  }
  return Status::Ok();
}

}  // namespace tollgate::ole2
