"""Password-protected OOXML packages as Office writes them ([MS-OFFCRYPTO] 2.3.4): the package,
encrypted, in an OLE2 compound file next to an EncryptionInfo stream that says how to derive the
key from a password.

Agile encryption (Office 2010 and later: SHA-512 with a spin count, AES-256-CBC per 4096-byte
segment) and standard encryption (Office 2007: SHA-1, AES-128-ECB). Salts and keys come from fixed
labels, so the output is the same on every run.
"""
import base64
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from office_samples import compound_file

SEGMENT = 4096
# [MS-OFFCRYPTO] 2.3.4.11-14: the block keys each agile key or IV is derived with.
VERIFIER_INPUT_BLOCK = bytes.fromhex("fea7d2763b4b9e79")
VERIFIER_VALUE_BLOCK = bytes.fromhex("d7aa0f6d3061344e")
KEY_VALUE_BLOCK = bytes.fromhex("146e0be7abacd0d6")
HMAC_KEY_BLOCK = bytes.fromhex("5fb2ad010cb9e1f6")
HMAC_VALUE_BLOCK = bytes.fromhex("a0677f02b22c8433")


def _fixed(label, size):
    return hashlib.sha512(label.encode()).digest()[:size]


def _aes(key, data, iv=None):
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv) if iv else modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def _pad(data, block=16):
    return data + bytes(-len(data) % block)


def _b64(data):
    return base64.b64encode(data).decode()


def _data_spaces():
    """The DataSpaces storage Office writes next to the encrypted package (its version stream)."""
    return {"\x06DataSpaces/Version": b"\x3c\x00\x00\x00" + "Microsoft.Container.DataSpaces".encode("utf-16-le")
                                      + struct.pack("<HHHHHH", 1, 0, 1, 0, 1, 0)}


def agile_encrypt(package, password, spin_count=100000):
    """SHA-512, AES-256-CBC: what Office 2010 and later write."""
    key_salt, password_salt = _fixed("keyData salt", 16), _fixed("password salt", 16)
    package_key, hmac_key = _fixed("package key", 32), _fixed("hmac key", 64)

    digest = hashlib.sha512(password_salt + password.encode("utf-16-le")).digest()
    for iteration in range(spin_count):
        digest = hashlib.sha512(struct.pack("<I", iteration) + digest).digest()

    def password_key(block):
        return hashlib.sha512(digest + block).digest()[:32]

    def key_data_iv(block):
        return hashlib.sha512(key_salt + block).digest()[:16]

    verifier = _fixed("verifier", 16)
    encrypted_key = {
        "encryptedVerifierHashInput": _aes(password_key(VERIFIER_INPUT_BLOCK), verifier, password_salt),
        "encryptedVerifierHashValue": _aes(password_key(VERIFIER_VALUE_BLOCK), hashlib.sha512(verifier).digest(),
                                           password_salt),
        "encryptedKeyValue": _aes(password_key(KEY_VALUE_BLOCK), package_key, password_salt),
    }

    stream = bytearray(struct.pack("<Q", len(package)))
    for index, start in enumerate(range(0, len(package), SEGMENT)):
        iv = key_data_iv(struct.pack("<I", index))
        stream += _aes(package_key, _pad(package[start:start + SEGMENT]), iv)
    integrity = hmac.new(hmac_key, bytes(stream), hashlib.sha512).digest()

    params = ('saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
              'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"')
    descriptor = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
        'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password" '
        'xmlns:c="http://schemas.microsoft.com/office/2006/keyEncryptor/certificate">'
        '<keyData %s saltValue="%s"/>' % (params, _b64(key_salt))
        + '<dataIntegrity encryptedHmacKey="%s" encryptedHmacValue="%s"/>'
        % (_b64(_aes(package_key, hmac_key, key_data_iv(HMAC_KEY_BLOCK))),
           _b64(_aes(package_key, integrity, key_data_iv(HMAC_VALUE_BLOCK))))
        + '<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
        '<p:encryptedKey spinCount="%d" %s saltValue="%s" %s/>'
        % (spin_count, params, _b64(password_salt), " ".join('%s="%s"' % (k, _b64(v)) for k, v in encrypted_key.items()))
        + '</keyEncryptor></keyEncryptors></encryption>')
    info = struct.pack("<HHI", 4, 4, 0x40) + descriptor.encode()
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": bytes(stream), **_data_spaces()})


def standard_encrypt(package, password):
    """SHA-1, AES-128-ECB: what Office 2007 writes."""
    salt = _fixed("standard salt", 16)
    digest = hashlib.sha1(salt + password.encode("utf-16-le")).digest()
    for iteration in range(50000):
        digest = hashlib.sha1(struct.pack("<I", iteration) + digest).digest()
    final = hashlib.sha1(digest + struct.pack("<I", 0)).digest()
    derived = (hashlib.sha1(bytes(b ^ 0x36 for b in final.ljust(64, b"\0"))).digest()
               + hashlib.sha1(bytes(b ^ 0x5C for b in final.ljust(64, b"\0"))).digest())
    key = derived[:16]

    verifier = _fixed("standard verifier", 16)
    csp = "Microsoft Enhanced RSA and AES Cryptographic Provider\0".encode("utf-16-le")
    flags = 0x24  # fCryptoAPI | fAES
    header = struct.pack("<IIIIIIII", flags, 0, 0x660E, 0x8004, 128, 0x18, 0, 0) + csp
    verifier_record = (struct.pack("<I", 16) + salt + _aes(key, verifier) + struct.pack("<I", 20)
                       + _aes(key, _pad(hashlib.sha1(verifier).digest())))
    info = struct.pack("<HHII", 4, 2, flags, len(header)) + header + verifier_record
    stream = struct.pack("<Q", len(package)) + _aes(key, _pad(package))
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": stream, **_data_spaces()})
