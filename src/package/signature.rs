//! Ed25519 keys and the signature document of a package (`signature.json`: the signer's public
//! key and the signature over the manifest's exact bytes), and SHA-256.
//!
//! Ed25519 comes from `ed25519-compact` (no dependencies, small: verification is all a device
//! needs), SHA-256 from RustCrypto's `sha2` (shares `digest` with the `md-5` the A/B assignment
//! already uses).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{fail, Error, Result, Status};
use crate::hex::{decode_array, encode as to_hex};

/// An Ed25519 public key (32 bytes), as configured among the trusted keys and named by a
/// signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The key from 64 hex digits (whitespace around them ignored).
    pub fn from_hex(text: &str) -> Result<PublicKey> {
        decode_array::<32>(text.trim())
            .map(PublicKey)
            .ok_or_else(|| Error::new(Status::InvalidArgument, "a public key is 64 hex digits (32 bytes)"))
    }

    /// 64 hex digits.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// The first 8 bytes in hex: how messages name a key.
    pub fn short(&self) -> String {
        to_hex(&self.0[..8])
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

/// An Ed25519 secret key: its 32-byte seed (what `mle-pack keygen` writes, in hex).
#[derive(Clone)]
pub struct SecretKey {
    pair: ed25519_compact::KeyPair,
}

impl SecretKey {
    /// The key whose seed is `seed` (an all-zero seed is refused: it is no secret).
    pub fn from_seed(seed: [u8; 32]) -> Result<SecretKey> {
        ed25519_compact::KeyPair::try_from_seed(ed25519_compact::Seed::new(seed))
            .map(|pair| SecretKey { pair })
            .map_err(|_| Error::new(Status::InvalidArgument, "a secret key's seed must not be all zeros"))
    }

    /// The key from its seed in 64 hex digits.
    pub fn from_hex(text: &str) -> Result<SecretKey> {
        let seed = decode_array::<32>(text.trim())
            .ok_or_else(|| Error::new(Status::InvalidArgument, "a secret key is 64 hex digits (its 32-byte seed)"))?;
        SecretKey::from_seed(seed)
    }

    /// The seed in 64 hex digits.
    pub fn to_hex(&self) -> String {
        to_hex(&self.pair.sk.seed()[..])
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.pair.pk)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key().to_hex())
    }
}

/// `signature.json`: who signed the manifest and the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureDoc {
    /// The signer's public key.
    pub public_key: PublicKey,
    /// The Ed25519 signature over the manifest's bytes.
    pub signature: [u8; 64],
}

impl SignatureDoc {
    /// Signs `manifest` (deterministic Ed25519: the same key and bytes give the same signature).
    pub fn sign(manifest: &[u8], key: &SecretKey) -> SignatureDoc {
        SignatureDoc { public_key: key.public_key(), signature: *key.pair.sk.sign(manifest, None) }
    }

    /// Checks the signature over `manifest` under the key it names (`PackageBadSignature`).
    pub fn verify(&self, manifest: &[u8]) -> Result<()> {
        let key = ed25519_compact::PublicKey::new(self.public_key.0);
        let signature = ed25519_compact::Signature::new(self.signature);
        key.verify(manifest, &signature).map_err(|_| {
            Error::new(
                Status::PackageBadSignature,
                format!(
                    "the signature by key {} does not verify over {}: the manifest changed after signing, or the \
                     signature was made for another package (sign it again with mle-pack sign)",
                    self.public_key.short(),
                    super::MANIFEST
                ),
            )
        })
    }

    /// The document as written in a package.
    pub fn to_json(&self) -> Vec<u8> {
        let doc = json!({
            "algorithm": "ed25519",
            "public_key": self.public_key.to_hex(),
            "signature": to_hex(&self.signature),
        });
        let mut text = serde_json::to_vec_pretty(&doc).expect("a JSON value always serializes");
        text.push(b'\n');
        text
    }

    /// Parses `signature.json` (`PackageInvalid` naming what is wrong).
    pub fn parse(bytes: &[u8]) -> Result<SignatureDoc> {
        let bad = |why: &str| Error::new(Status::PackageInvalid, format!("{}: {why}", super::SIGNATURE));
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(&format!("not JSON: {e}")))?;
        if doc.get("algorithm").and_then(Value::as_str) != Some("ed25519") {
            return Err(bad("\"algorithm\" must be \"ed25519\""));
        }
        let public_key = doc
            .get("public_key")
            .and_then(Value::as_str)
            .and_then(decode_array::<32>)
            .ok_or_else(|| bad("\"public_key\" must be 64 hex digits"))?;
        let signature = doc
            .get("signature")
            .and_then(Value::as_str)
            .and_then(decode_array::<64>)
            .ok_or_else(|| bad("\"signature\" must be 128 hex digits"))?;
        Ok(SignatureDoc { public_key: PublicKey(public_key), signature })
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Refuses `keys` given as raw bytes whose length is not a multiple of 32 (the C API's form).
pub fn keys_from_bytes(bytes: &[u8]) -> Result<Vec<PublicKey>> {
    if bytes.len() % 32 != 0 {
        return fail(Status::InvalidArgument, "trusted keys are 32 bytes each");
    }
    Ok(bytes.chunks_exact(32).map(|c| PublicKey(c.try_into().expect("32-byte chunk"))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(to_hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn ed25519_matches_rfc_8032_test_1() {
        // RFC 8032 section 7.1, TEST 1: the empty message.
        let key = SecretKey::from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        assert_eq!(key.public_key().to_hex(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let doc = SignatureDoc::sign(b"", &key);
        assert_eq!(
            to_hex(&doc.signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(doc.verify(b"").is_ok());
        assert_eq!(SecretKey::from_seed([0; 32]).unwrap_err().status(), Status::InvalidArgument);
        assert_eq!(doc.verify(b"x").unwrap_err().status(), Status::PackageBadSignature);
        assert_eq!(SignatureDoc::parse(&doc.to_json()).unwrap(), doc);
    }
}
