#include "tollgate/audit/log_verifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "log_files.h"
#include "tollgate/audit/record.h"

namespace tollgate::audit {
namespace {

using Json = nlohmann::json;

bool IsHash(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The string at `key`, or "" when it is missing or not a string (never throws).
std::string StringOr(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t UnsignedOr(const Json& object, const char* key, uint64_t fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_unsigned() ? it->get<uint64_t>() : fallback;
}

// The top-level fields every record needs, read without building the whole object: most records
// need nothing else, and verifying a large log is mostly parsing.
class ChainFields final : public nlohmann::json_sax<Json> {
 public:
  std::optional<uint64_t> seq;
  std::optional<std::string> time, type, prev, key_id, sig;  // key_id: the record's "key"
  bool object = false;
  std::string duplicate;  // a chain field that occurs twice: the record is ambiguous

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t value) override {
    if (depth_ == 1 && key_ == "seq") Set(seq, value);
    return true;
  }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& value) override {
    if (depth_ != 1) return true;
    if (key_ == "time") Set(time, std::move(value));
    if (key_ == "type") Set(type, std::move(value));
    if (key_ == "prev") Set(prev, std::move(value));
    if (key_ == "key") Set(key_id, std::move(value));
    if (key_ == "sig") Set(sig, std::move(value));
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (depth_++ == 0) object = true;
    return true;
  }
  bool key(string_t& name) override {
    if (depth_ == 1) {
      static constexpr std::array<std::string_view, 6> kChainKeys = {"seq", "time", "type", "prev", "key", "sig"};
      for (size_t i = 0; i < kChainKeys.size(); ++i) {
        if (name != kChainKeys[i]) continue;
        if (seen_ & (1u << i)) duplicate = name;
        seen_ |= 1u << i;
      }
      key_.assign(name);  // a copy: `name` is the lexer's buffer, reused for the next token
    }
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  template <typename T, typename V>
  static void Set(std::optional<T>& field, V&& value) {
    field = std::forward<V>(value);
  }
  int depth_ = 0;
  std::string key_;
  unsigned seen_ = 0;
};

struct Location {
  std::string file;
  uint64_t line = 0;
  uint64_t seq = 0;
};

// What the next file's header must agree with.
struct FinishedFile {
  std::string name;
  uint64_t lines = 0;
  uint64_t complete_bytes = 0;
  uint64_t torn_bytes = 0;
  uint64_t last_seq = 0;
};

// The start of a log whose first file does not link to the genesis hash.
struct MissingStart {
  Location first;
  std::string prev, prev_file;
  uint64_t vouched_by = 0;  // seq of the retention record that lists the removed file
  bool signed_after = false;
};

class Verifier {
 public:
  Verifier(std::string dir, const VerifyingKey& key) : dir_(std::move(dir)), key_(key) {}

  StatusOr<VerifyResult> Run() {
    auto folder = ListLogFiles(dir_);
    if (!folder.ok()) return folder.status();
    if (!folder->unexpected.empty()) {
      Problem(folder->unexpected.front(), 0, std::nullopt,
              "not a log file name (audit-YYYY-MM-DD-SEQ.jsonl): a renamed or foreign file");
      return result_;
    }
    if (folder->files.empty()) {
      Problem("", 0, std::nullopt, fmt::format("no audit log files in {}", dir_));
      return result_;
    }
    for (const LogFileName& file : folder->files) {
      ++result_.files;
      if (!VerifyFile(file)) return Finish();
    }
    if (previous_file_ && previous_file_->torn_bytes > 0) {
      Problem(previous_file_->name, previous_file_->lines + 1, previous_file_->last_seq,
              fmt::format("the file ends inside a record: {} bytes after the last newline (a torn write or a "
                          "truncation)",
                          previous_file_->torn_bytes));
    }
    return Finish();
  }

 private:
  VerifyResult& Finish() {
    // A start nobody accounts for comes before anything found later in the chain.
    if (missing_start_ && (!result_.problem || missing_start_->vouched_by == 0) && !missing_start_->signed_after) {
      const MissingStart& start = *missing_start_;
      result_.problem = VerifyProblem{
          start.first.file, start.first.line, start.first.seq,
          fmt::format("the log starts at seq {}, linked to {} which is not here, and no checkpointed retention "
                      "record accounts for it: files were deleted",
                      start.first.seq, start.prev_file.empty() ? "a record" : start.prev_file)};
    }
    if (!result_.problem) {
      result_.unsigned_records = result_.last_seq - std::max(result_.last_checkpoint_seq, result_.first_seq - 1);
      if (missing_start_) result_.removed_by_retention = removed_files_;
    }
    return result_;
  }

  bool Problem(const std::string& file, uint64_t line, std::optional<uint64_t> seq, std::string message) {
    if (!result_.problem) result_.problem = VerifyProblem{file, line, seq, std::move(message)};
    return false;
  }

  bool VerifyFile(const LogFileName& file) {
    auto reader = LineReader::Open(dir_ + "/" + file.name);
    if (!reader.ok()) return Problem(file.name, 0, std::nullopt, reader.status().message());
    uint64_t line_number = 0;
    while (auto line = reader->Next()) {
      if (!VerifyRecord(file, ++line_number, *line)) return false;
    }
    if (!reader->status().ok()) return Problem(file.name, line_number + 1, std::nullopt, reader->status().message());
    if (line_number == 0) {
      return Problem(file.name, 1, std::nullopt, "the file holds no complete record (not even its file_start)");
    }
    previous_file_ = FinishedFile{file.name, line_number, reader->offset(), reader->trailing().size(), result_.last_seq};
    return true;
  }

  bool VerifyRecord(const LogFileName& file, uint64_t line_number, std::string_view line) {
    ChainFields fields;
    if (!Json::sax_parse(line, &fields) || !fields.object) {
      return Problem(file.name, line_number, std::nullopt, "not a JSON object");
    }
    if (!fields.seq) return Problem(file.name, line_number, std::nullopt, "no valid seq");
    const uint64_t seq = *fields.seq;
    auto bad = [&](std::string message) { return Problem(file.name, line_number, seq, std::move(message)); };
    if (!fields.duplicate.empty()) return bad(fmt::format("\"{}\" occurs twice", fields.duplicate));
    if (!fields.time || !ParseTime(*fields.time)) return bad("no valid time");
    const auto type = fields.type ? ParseEventType(*fields.type) : std::nullopt;
    if (!type) return bad("no known type");
    if (!fields.prev || !IsHash(*fields.prev)) return bad("no valid prev (64 hex digits)");
    const std::string& prev = *fields.prev;
    // The few records with structure beyond the chain fields are parsed whole.
    const Json record = *type == EventType::kFileStart || *type == EventType::kRetention
                            ? Json::parse(line, nullptr, false)
                            : Json();

    if (line_number == 1) {
      if (*type != EventType::kFileStart) return bad("line 1 is not a file_start record");
      if (!VerifyHeader(file, record, seq)) return false;
    } else if (*type == EventType::kFileStart) {
      return bad("a file_start record inside a file: lines from another file were inserted");
    }

    if (!last_hash_.empty()) {
      if (seq > expected_seq_) {
        const std::string missing = seq - expected_seq_ == 1
                                        ? fmt::format("record {} is", expected_seq_)
                                        : fmt::format("records {}..{} are", expected_seq_, seq - 1);
        return bad(fmt::format("seq jumps from {} to {}: {} missing or out of order", expected_seq_ - 1, seq, missing));
      }
      if (seq < expected_seq_) {
        return bad(fmt::format("seq {} comes after seq {} ({} line {}): a record was inserted or moved here", seq,
                               previous_.seq, previous_.file, previous_.line));
      }
      if (prev != last_hash_) {
        if (prev == hash_before_last_) {
          return Problem(previous_.file, previous_.line, previous_.seq,
                         fmt::format("inserted: the next record ({} line {}, seq {}) links past it to the record "
                                     "before it",
                                     file.name, line_number, seq));
        }
        return Problem(previous_.file, previous_.line, previous_.seq,
                       fmt::format("altered: its SHA-256 does not match the prev of the next record ({} line {}, "
                                   "seq {}), or that prev was altered",
                                   file.name, line_number, seq));
      }
    } else if (seq == 1 || prev == kGenesisHash) {
      if (seq != 1 || prev != kGenesisHash) return bad("the first record must have seq 1 and the genesis prev");
    } else {
      missing_start_ = MissingStart{{file.name, line_number, seq}, prev, StringOr(record, "prev_file"), 0, false};
    }
    if (result_.records == 0) result_.first_seq = seq;

    const std::string hash = RecordHash(line);
    if (*type == EventType::kCheckpoint) {
      if (!VerifyCheckpoint(fields, seq, bad)) return false;
      ++result_.checkpoints;
      result_.last_checkpoint_seq = seq;
      result_.last_checkpoint_hash = hash;
      if (missing_start_ && missing_start_->vouched_by != 0) missing_start_->signed_after = true;
    } else if (*type == EventType::kRetention) {
      NoteRetention(record, seq);
    }
    hash_before_last_ = std::move(last_hash_);
    last_hash_ = hash;
    expected_seq_ = seq + 1;
    previous_ = {file.name, line_number, seq};
    ++result_.records;
    result_.last_seq = seq;
    return true;
  }

  bool VerifyHeader(const LogFileName& file, const Json& header, uint64_t seq) {
    auto bad = [&](std::string message) { return Problem(file.name, 1, seq, std::move(message)); };
    if (StringOr(header, "file") != file.name) {
      return bad(fmt::format("the header names the file \"{}\": renamed or copied from elsewhere",
                             StringOr(header, "file")));
    }
    if (seq != file.first_seq) {
      return bad(fmt::format("the file name says the file starts at seq {}, its header has seq {}", file.first_seq, seq));
    }
    const std::string prev_file = StringOr(header, "prev_file");
    if (!previous_file_) return true;
    const FinishedFile& previous = *previous_file_;
    if (prev_file != previous.name) {
      return bad(fmt::format("the header links to {} but the file before it is {}: {} is missing",
                             prev_file.empty() ? "no file" : prev_file, previous.name,
                             prev_file.empty() ? "the start of the log" : prev_file));
    }
    const uint64_t expected_bytes = UnsignedOr(header, "prev_file_bytes", 0);
    const uint64_t expected_torn = UnsignedOr(header, "torn_bytes", 0);
    if (previous.complete_bytes != expected_bytes || previous.torn_bytes != expected_torn) {
      const uint64_t size = previous.complete_bytes + previous.torn_bytes;
      const uint64_t expected_size = expected_bytes + expected_torn;
      return Problem(previous.name, previous.lines + (previous.torn_bytes > 0 ? 1 : 0), previous.last_seq,
                     fmt::format("the file has {} bytes ({} in complete records) but the next file {} says it had {} "
                                 "({} in complete records): {}",
                                 size, previous.complete_bytes, file.name, expected_size, expected_bytes,
                                 size < expected_size   ? "it was truncated"
                                 : size > expected_size ? "bytes were added to it"
                                                        : "its records were changed"));
    }
    return true;
  }

  template <typename Bad>
  bool VerifyCheckpoint(const ChainFields& fields, uint64_t seq, Bad& bad) {
    const std::string fingerprint = fields.key_id.value_or("");
    if (fingerprint != key_.fingerprint()) {
      return bad(fmt::format("checkpoint signed with key {}, not with the given public key {}",
                             fingerprint.empty() ? "(none)" : fingerprint, key_.fingerprint()));
    }
    if (!fields.sig || !key_.Verify(CheckpointMessage(seq, *fields.time, *fields.prev), *fields.sig)) {
      return bad("checkpoint signature does not verify: the checkpoint or the chain before it was changed");
    }
    return true;
  }

  void NoteRetention(const Json& record, uint64_t seq) {
    if (!missing_start_ || missing_start_->vouched_by != 0) return;
    const auto removed = record.find("removed");
    if (removed == record.end() || !removed->is_array()) return;
    for (const Json& entry : *removed) {
      if (!entry.is_object()) continue;
      if (StringOr(entry, "file") == missing_start_->prev_file &&
          UnsignedOr(entry, "last_seq", 0) + 1 == missing_start_->first.seq &&
          StringOr(entry, "last_hash") == missing_start_->prev) {
        missing_start_->vouched_by = seq;
        removed_files_ = removed->size();
        return;
      }
    }
  }

  std::string dir_;
  const VerifyingKey& key_;
  VerifyResult result_;
  uint64_t expected_seq_ = 0;
  std::string last_hash_, hash_before_last_;
  Location previous_;
  std::optional<FinishedFile> previous_file_;
  std::optional<MissingStart> missing_start_;
  uint64_t removed_files_ = 0;
};

}  // namespace

StatusOr<VerifyResult> VerifyLog(const std::string& dir, const VerifyingKey& key) try {
  return Verifier(dir, key).Run();
} catch (const std::exception& error) {
  return Internal(fmt::format("verifying {}: {}", dir, error.what()));
}

}  // namespace tollgate::audit
