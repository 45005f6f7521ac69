//! Argon2id password hashing with bounded concurrency and reused memory
//! (REG-4).
//!
//! Argon2 is memory-hard on purpose: each hash fills `m` KiB of memory. A
//! thousand clients logging in at once would otherwise allocate a thousand
//! such buffers at the same moment, which the allocator then keeps. Here at
//! most one hash per CPU core runs at a time, each in a buffer taken from a
//! small pool and given back afterwards, so memory stays at a few MiB however
//! many clients log in, and the cores stay busy without thrashing.
//!
//! A password that passed Argon2id once in this run also gets a *proof*: an
//! HMAC-SHA-256 of the username and password under a key drawn at start-up
//! and never written anywhere. [`crate::accounts::Accounts`] keeps proofs in
//! memory only, so a thousand clients that reconnect after a network blip are
//! checked in microseconds, while the accounts file still holds nothing but
//! Argon2id hashes (REG-4). A password that does not match its proof still
//! pays a full Argon2id check, so guessing is no faster than without proofs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A keyed proof that a password was checked once in this run: see the module
/// documentation.
pub type Proof = [u8; 32];

/// Why a hash could not be made or checked.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Makes and checks Argon2id hashes in PHC string format.
pub struct Hashing {
    params: Params,
    /// Idle memory buffers, and how many hashes may still start.
    pool: Mutex<Pool>,
    freed: Condvar,
    /// The HMAC key of proofs, random per run.
    proof_key: [u8; 32],
    /// Argon2id hashes made or checked so far.
    slow: AtomicU64,
}

struct Pool {
    idle: Vec<Vec<Block>>,
    free_slots: usize,
}

impl Hashing {
    /// New hashes use `memory_kib` KiB and `passes` passes; at most one hash
    /// per available core runs at once.
    pub fn new(memory_kib: u32, passes: u32) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, passes, 1, None).map_err(err)?;
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            params,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                free_slots: slots,
            }),
            freed: Condvar::new(),
            proof_key: crate::random_bytes(),
            slow: AtomicU64::new(0),
        })
    }

    /// The proof for `username` and `password` (module documentation).
    pub fn proof(&self, username: &str, password: &str) -> Proof {
        self.mac(username, password).finalize().into_bytes().into()
    }

    /// True if `proof` was made by [`Hashing::proof`] from this username and
    /// password in this run. The comparison takes constant time.
    pub fn proves(&self, proof: &Proof, username: &str, password: &str) -> bool {
        self.mac(username, password).verify_slice(proof).is_ok()
    }

    fn mac(&self, username: &str, password: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.proof_key).expect("any key length");
        // The username's length first, so that no other split of the same
        // bytes into a username and a password gives the same proof.
        mac.update(&(username.len() as u64).to_le_bytes());
        mac.update(username.as_bytes());
        mac.update(password.as_bytes());
        mac
    }

    /// How many Argon2id hashes this has made or checked, for tests and logs.
    pub fn slow_checks(&self) -> u64 {
        self.slow.load(Ordering::Relaxed)
    }

    /// A salted hash of `password`, as a PHC string (`$argon2id$v=19$…`).
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::encode_b64(&crate::random_bytes::<16>()).map_err(err)?;
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(err)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.with_memory(self.params.block_count(), |blocks| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, blocks)
        })
        .map_err(err)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&self.params).try_into().map_err(err)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(err)?),
        };
        Ok(phc.to_string())
    }

    /// True if `password` matches the PHC string `phc`, whatever cost it was
    /// made with. The comparison takes constant time.
    pub fn verify(&self, password: &str, phc: &str) -> Result<bool, HashError> {
        let hash = PasswordHash::new(phc).map_err(err)?;
        let params = Params::try_from(&hash).map_err(err)?;
        let algorithm = Algorithm::try_from(hash.algorithm).map_err(err)?;
        let version = hash
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(err)?
            .unwrap_or_default();
        let expected = hash
            .hash
            .ok_or_else(|| HashError("the hash has no output".into()))?;
        let salt = hash
            .salt
            .ok_or_else(|| HashError("the hash has no salt".into()))?;
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(err)?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        self.with_memory(params.block_count(), |blocks| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, blocks)
        })
        .map_err(err)?;
        Ok(Output::new(&out).map_err(err)? == expected)
    }

    /// Runs `f` with `count` blocks of memory from the pool, waiting for a
    /// free slot first.
    fn with_memory<R>(&self, count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        self.slow.fetch_add(1, Ordering::Relaxed);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        while pool.free_slots == 0 {
            pool = self.freed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
        pool.free_slots -= 1;
        let mut blocks = pool.idle.pop().unwrap_or_default();
        drop(pool);
        blocks.resize(count, Block::default());
        let result = f(&mut blocks);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        pool.idle.push(blocks);
        pool.free_slots += 1;
        drop(pool);
        self.freed.notify_one();
        result
    }
}

fn err(e: impl std::fmt::Display) -> HashError {
    HashError(e.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[test]
    fn hashes_verify_both_ways_with_the_argon2_crate() {
        // REG-4: a standard PHC string, salted, that the argon2 crate accepts.
        let hashing = Hashing::new(64, 1).unwrap();
        let phc = hashing.hash("xiaoming123").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_ne!(phc, hashing.hash("xiaoming123").unwrap(), "salted");
        assert!(hashing.verify("xiaoming123", &phc).unwrap());
        assert!(!hashing.verify("xiaoming124", &phc).unwrap());
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"xiaoming123", &parsed)
                .is_ok()
        );
        // A hash made elsewhere, with other costs, verifies too.
        let other = argon2::password_hash::PasswordHasher::hash_password(
            &Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(128, 2, 1, None).unwrap(),
            ),
            b"sunyu",
            &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(hashing.verify("sunyu", &other).unwrap());
    }

    #[test]
    fn proofs_bind_username_and_password_to_this_run() {
        let hashing = Hashing::new(64, 1).unwrap();
        let proof = hashing.proof("小明", "xiaoming123");
        assert!(hashing.proves(&proof, "小明", "xiaoming123"));
        assert!(!hashing.proves(&proof, "小明", "xiaoming124"));
        // The same bytes split differently are another account.
        assert!(!hashing.proves(&hashing.proof("ab", "c"), "a", "bc"));
        // Another run draws another key.
        let next_run = Hashing::new(64, 1).unwrap();
        assert!(!next_run.proves(&proof, "小明", "xiaoming123"));
        assert_eq!(hashing.slow_checks(), 0, "proofs never run Argon2id");
    }
}
