//! The password hashes pwreset accepts: its own bcrypt, and the formats of
//! the frameworks people move from, each verified exactly as its origin
//! verifies it. Parsing bounds every cost parameter, so a planted hash
//! cannot make one check take seconds of CPU or hundreds of MiB.
//!
//! | format | origin | verified as |
//! |---|---|---|
//! | `$2a$` `$2b$` `$2y$` | bcrypt (pwreset, PHP, Ruby, Node) | bcrypt |
//! | `pbkdf2_sha256$` `pbkdf2_sha1$` | Django | PBKDF2-HMAC over the salt's text, base64 |
//! | `bcrypt_sha256$` | Django | bcrypt of the hex SHA-256 of the password |
//! | `bcrypt$` | Django | bcrypt |
//! | `argon2$argon2id$` `argon2$argon2i$` | Django | the PHC string after `argon2` |
//! | `scrypt$` | Django | scrypt over the salt's text, 64 bytes, base64 |
//! | `$argon2id$` `$argon2i$` | argon2-cffi, libsodium, the `argon2` crate | PHC |
//! | `$pbkdf2-sha256$` | passlib | PBKDF2-HMAC-SHA256 in passlib's adapted base64 |

use std::num::NonZeroU32;

use argon2::password_hash::phc::PasswordHash;
use aws_lc_rs::{digest, pbkdf2};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use subtle::ConstantTimeEq;

/// What the 400 for a refused hash names.
pub const ACCEPTED: &str = "bcrypt ($2a$, $2b$, $2y$); Django's pbkdf2_sha256$, pbkdf2_sha1$, \
     bcrypt_sha256$, bcrypt$, argon2$argon2id$, argon2$argon2i$ and scrypt$; \
     PHC $argon2id$ and $argon2i$; passlib's $pbkdf2-sha256$";

/// The most a stored hash may be: longer strings are no format's.
const MAX_LEN: usize = 512;
/// bcrypt: the costs pwreset itself may be configured to (`BCRYPT_COST`
/// allows up to 15) and any lower one a framework used.
const BCRYPT_COST: std::ops::RangeInclusive<u32> = 4..=15;
/// PBKDF2: Django 6 uses 1,200,000 iterations; this leaves room for one
/// raise and is about 0.5 s of one core.
const PBKDF2_MAX_ITERATIONS: u32 = 2_000_000;
/// argon2: memory per check (KiB) and memory times passes; Django's default
/// (100 MiB, 2 passes), argon2-cffi's (64 MiB, 3) and libsodium's
/// "moderate" (256 MiB, 3) fit.
const ARGON2_MAX_M_KIB: u32 = 262_144;
const ARGON2_MAX_M_TIMES_T: u64 = 1_048_576;
const ARGON2_MAX_P: u32 = 16;
/// scrypt: memory (128·N·r bytes) and work (N·r·p); Django's default
/// (N=2^14, r=8, p=1: 16 MiB) fits sixteen times over.
const SCRYPT_MAX_MEMORY: u64 = 256 << 20;
const SCRYPT_MAX_WORK: u64 = 1 << 21;
/// Salts: at least 8 bytes (anything shorter was never a real salt) and at
/// most 128.
const SALT_LEN: std::ops::RangeInclusive<usize> = 8..=128;

/// Why a string is not a hash pwreset accepts.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not a password hash in an accepted format")]
    Unknown,
    #[error("a {0} hash whose text is malformed")]
    Malformed(&'static str),
    #[error("a {0} hash whose cost is outside what pwreset verifies ({1})")]
    TooCostly(&'static str, &'static str),
}

/// A stored password hash, parsed and within bounds.
#[derive(Debug, Clone)]
pub enum StoredHash {
    /// Modular-crypt bcrypt; `prehash` says whether Django's
    /// `bcrypt_sha256$` hashed the password first.
    Bcrypt {
        mcf: String,
        cost: u32,
        prehash: bool,
        django: bool,
    },
    Pbkdf2 {
        sha1: bool,
        iterations: NonZeroU32,
        salt: Vec<u8>,
        derived: Vec<u8>,
        origin: &'static str,
    },
    Argon2 {
        algorithm: argon2::Algorithm,
        version: argon2::Version,
        params: argon2::Params,
        salt: Vec<u8>,
        derived: Vec<u8>,
        django: bool,
    },
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        derived: Vec<u8>,
    },
}

impl StoredHash {
    /// Parses `text`, refusing anything outside the accepted formats and
    /// bounds.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        if text.len() > MAX_LEN || !text.is_ascii() {
            return Err(FormatError::Unknown);
        }
        if let Some(rest) = text.strip_prefix("pbkdf2_sha256$") {
            django_pbkdf2(rest, false)
        } else if let Some(rest) = text.strip_prefix("pbkdf2_sha1$") {
            django_pbkdf2(rest, true)
        } else if let Some(rest) = text.strip_prefix("bcrypt_sha256$") {
            bcrypt_mcf(rest, true, true)
        } else if let Some(rest) = text.strip_prefix("bcrypt$") {
            bcrypt_mcf(rest, false, true)
        } else if let Some(rest) = text.strip_prefix("argon2$") {
            argon2_phc(&format!("${rest}"), true)
        } else if let Some(rest) = text.strip_prefix("scrypt$") {
            django_scrypt(rest)
        } else if text.starts_with("$argon2id$") || text.starts_with("$argon2i$") {
            argon2_phc(text, false)
        } else if let Some(rest) = text.strip_prefix("$pbkdf2-sha256$") {
            passlib_pbkdf2(rest)
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
            bcrypt_mcf(text, false, false)
        } else {
            Err(FormatError::Unknown)
        }
    }

    /// Where the hash came from, for logs and metrics.
    pub fn format(&self) -> &'static str {
        match self {
            Self::Bcrypt { django: false, .. } => "bcrypt",
            Self::Bcrypt { prehash: true, .. } => "django_bcrypt_sha256",
            Self::Bcrypt { .. } => "django_bcrypt",
            Self::Pbkdf2 { origin, .. } => origin,
            Self::Argon2 { django: true, .. } => "django_argon2",
            Self::Argon2 { .. } => "argon2",
            Self::Scrypt { .. } => "django_scrypt",
        }
    }

    /// Whether this is what pwreset itself would store at `cost`: plain
    /// bcrypt at that cost or above. Anything else is replaced at the next
    /// successful sign-in.
    pub fn is_current(&self, cost: u32) -> bool {
        matches!(self, Self::Bcrypt { django: false, cost: have, .. } if *have >= cost)
    }

    /// Whether `password` matches. CPU-bound (up to about half a second):
    /// run it off the async workers.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            Self::Bcrypt {
                mcf, prehash: true, ..
            } => {
                let hex = hex(digest::digest(&digest::SHA256, password.as_bytes()).as_ref());
                bcrypt::verify(hex, mcf).unwrap_or(false)
            }
            Self::Bcrypt { mcf, .. } => bcrypt::verify(password, mcf).unwrap_or(false),
            Self::Pbkdf2 {
                sha1,
                iterations,
                salt,
                derived,
                ..
            } => {
                let algorithm = if *sha1 {
                    pbkdf2::PBKDF2_HMAC_SHA1
                } else {
                    pbkdf2::PBKDF2_HMAC_SHA256
                };
                pbkdf2::verify(algorithm, *iterations, salt, password.as_bytes(), derived).is_ok()
            }
            Self::Argon2 {
                algorithm,
                version,
                params,
                salt,
                derived,
                ..
            } => {
                let mut out = vec![0u8; derived.len()];
                argon2::Argon2::new(*algorithm, *version, params.clone())
                    .hash_password_into(password.as_bytes(), salt, &mut out)
                    .is_ok()
                    && bool::from(out.ct_eq(derived))
            }
            Self::Scrypt {
                params,
                salt,
                derived,
            } => {
                let mut out = vec![0u8; derived.len()];
                scrypt::scrypt(password.as_bytes(), salt, params, &mut out).is_ok()
                    && bool::from(out.ct_eq(derived))
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bcrypt_mcf(mcf: &str, prehash: bool, django: bool) -> Result<StoredHash, FormatError> {
    let name = if django { "Django bcrypt" } else { "bcrypt" };
    let known_prefix = ["$2a$", "$2b$", "$2y$"].iter().any(|p| mcf.starts_with(p));
    let parts = mcf.parse::<bcrypt::HashParts>();
    let (true, 60, Ok(parts)) = (known_prefix, mcf.len(), parts) else {
        return Err(FormatError::Malformed(name));
    };
    let cost = parts.get_cost();
    if !BCRYPT_COST.contains(&cost) {
        return Err(FormatError::TooCostly(name, "cost 4 to 15"));
    }
    Ok(StoredHash::Bcrypt {
        mcf: mcf.to_owned(),
        cost,
        prehash,
        django,
    })
}

/// `<iterations>$<salt>$<base64 hash>`, the salt used as its text.
fn django_pbkdf2(rest: &str, sha1: bool) -> Result<StoredHash, FormatError> {
    let (name, len) = if sha1 {
        ("Django pbkdf2_sha1", 20)
    } else {
        ("Django pbkdf2_sha256", 32)
    };
    let malformed = FormatError::Malformed(name);
    let [iterations, salt, derived] = split::<3>(rest).ok_or(malformed)?;
    let derived = STANDARD.decode(derived).map_err(|_| malformed)?;
    if derived.len() != len || !SALT_LEN.contains(&salt.len()) {
        return Err(malformed);
    }
    Ok(StoredHash::Pbkdf2 {
        sha1,
        iterations: iterations_within(iterations, name)?,
        salt: salt.as_bytes().to_vec(),
        derived,
        origin: if sha1 {
            "django_pbkdf2_sha1"
        } else {
            "django_pbkdf2_sha256"
        },
    })
}

/// passlib: `<rounds>$<salt>$<checksum>`, both in its adapted base64 (`.`
/// for `+`, no padding); the salt is the decoded bytes.
fn passlib_pbkdf2(rest: &str) -> Result<StoredHash, FormatError> {
    let name = "passlib pbkdf2-sha256";
    let malformed = FormatError::Malformed(name);
    let [rounds, salt, derived] = split::<3>(rest).ok_or(malformed)?;
    let ab64 = |s: &str| STANDARD_NO_PAD.decode(s.replace('.', "+"));
    let (Ok(salt), Ok(derived)) = (ab64(salt), ab64(derived)) else {
        return Err(malformed);
    };
    if derived.len() != 32 || !SALT_LEN.contains(&salt.len()) {
        return Err(malformed);
    }
    Ok(StoredHash::Pbkdf2 {
        sha1: false,
        iterations: iterations_within(rounds, name)?,
        salt,
        derived,
        origin: "passlib_pbkdf2_sha256",
    })
}

fn iterations_within(text: &str, name: &'static str) -> Result<NonZeroU32, FormatError> {
    let n: u32 = decimal(text).ok_or(FormatError::Malformed(name))?;
    match NonZeroU32::new(n) {
        Some(n) if n.get() <= PBKDF2_MAX_ITERATIONS => Ok(n),
        Some(_) => Err(FormatError::TooCostly(name, "at most 2,000,000 iterations")),
        None => Err(FormatError::Malformed(name)),
    }
}

/// A PHC argon2 string; Django's are the PHC string after `argon2`.
fn argon2_phc(phc: &str, django: bool) -> Result<StoredHash, FormatError> {
    let name = if django { "Django argon2" } else { "argon2" };
    let malformed = FormatError::Malformed(name);
    let parsed = PasswordHash::new(phc).map_err(|_| malformed)?;
    let algorithm = match parsed.algorithm.as_str() {
        "argon2id" => argon2::Algorithm::Argon2id,
        "argon2i" => argon2::Algorithm::Argon2i,
        _ => return Err(malformed),
    };
    // Without `v=`, the string predates version 1.3: argon2-cffi and
    // libargon2 read it as 0x10.
    let version = match parsed.version {
        None => argon2::Version::V0x10,
        Some(v) => argon2::Version::try_from(v).map_err(|_| malformed)?,
    };
    let params = argon2::Params::try_from(&parsed).map_err(|_| malformed)?;
    let (Some(salt), Some(derived)) = (&parsed.salt, &parsed.hash) else {
        return Err(malformed);
    };
    if !SALT_LEN.contains(&salt.len()) || !(4..=64).contains(&derived.len()) {
        return Err(malformed);
    }
    if params.m_cost() > ARGON2_MAX_M_KIB
        || u64::from(params.m_cost()) * u64::from(params.t_cost()) > ARGON2_MAX_M_TIMES_T
        || params.p_cost() > ARGON2_MAX_P
    {
        return Err(FormatError::TooCostly(
            name,
            "at most 256 MiB, 1 GiB over all passes, 16 lanes",
        ));
    }
    Ok(StoredHash::Argon2 {
        algorithm,
        version,
        params,
        salt: salt.to_vec(),
        derived: derived.as_bytes().to_vec(),
        django,
    })
}

/// Django: `<N>$<salt>$<r>$<p>$<base64 of 64 bytes>`, the salt as its text.
fn django_scrypt(rest: &str) -> Result<StoredHash, FormatError> {
    let name = "Django scrypt";
    let malformed = FormatError::Malformed(name);
    let [n, salt, r, p, derived] = split::<5>(rest).ok_or(malformed)?;
    let (Some(n), Some(r), Some(p)) = (decimal::<u64>(n), decimal::<u32>(r), decimal::<u32>(p))
    else {
        return Err(malformed);
    };
    let derived = STANDARD.decode(derived).map_err(|_| malformed)?;
    if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 || derived.len() != 64 {
        return Err(malformed);
    }
    if !SALT_LEN.contains(&salt.len()) {
        return Err(malformed);
    }
    let memory = 128u64.saturating_mul(n).saturating_mul(u64::from(r));
    let work = n.saturating_mul(u64::from(r)).saturating_mul(u64::from(p));
    if memory > SCRYPT_MAX_MEMORY || work > SCRYPT_MAX_WORK {
        return Err(FormatError::TooCostly(
            name,
            "at most 256 MiB and N·r·p at most 2^21",
        ));
    }
    // n is a power of two no larger than 2^21, so its log fits a u8.
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| malformed)?;
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| malformed)?;
    Ok(StoredHash::Scrypt {
        params,
        salt: salt.as_bytes().to_vec(),
        derived,
    })
}

/// Exactly `N` `$`-separated fields, none empty.
fn split<const N: usize>(text: &str) -> Option<[&str; N]> {
    let fields: Vec<&str> = text.split('$').collect();
    let fields: [&str; N] = fields.try_into().ok()?;
    fields.iter().all(|f| !f.is_empty()).then_some(fields)
}

/// A plain decimal (no sign, no leading zeros but "0", no spaces).
fn decimal<T: std::str::FromStr>(text: &str) -> Option<T> {
    let plain = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::{FormatError, StoredHash};

    #[test]
    fn plaintext_digests_and_django_unusable_passwords_are_no_format() {
        for text in [
            "correct horse battery staple",
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
            "md5$salt$1a1dc91c907325c69271ddf0c944bc72",
            "!q8P9rX2vK1mZ7nT3yW6uB4cD0eF5gH8jL",
            "",
            "$argon2d$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
        ] {
            assert!(StoredHash::parse(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn costs_beyond_the_bounds_are_refused_before_any_work() {
        let too_many = format!(
            "pbkdf2_sha256$2000001$saltsaltsalt${}",
            "A".repeat(43) + "="
        );
        assert!(matches!(
            StoredHash::parse(&too_many),
            Err(FormatError::TooCostly(..))
        ));
        let huge_argon =
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzYWx0$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        assert!(matches!(
            StoredHash::parse(huge_argon),
            Err(FormatError::TooCostly(..))
        ));
        let huge_scrypt = format!("scrypt$1048576$saltsaltsalt$8$1${}", "A".repeat(86) + "==");
        assert!(matches!(
            StoredHash::parse(&huge_scrypt),
            Err(FormatError::TooCostly(..))
        ));
        let bcrypt_31 = bcrypt::hash("x", 4).unwrap().replacen("$04$", "$31$", 1);
        assert!(matches!(
            StoredHash::parse(&bcrypt_31),
            Err(FormatError::TooCostly(..))
        ));
    }

    #[test]
    fn only_plain_bcrypt_at_the_configured_cost_is_current() {
        let hash = bcrypt::hash("x", 5).unwrap();
        let parsed = StoredHash::parse(&hash).unwrap();
        assert!(parsed.verify("x") && !parsed.verify("y"));
        assert!(parsed.is_current(5) && parsed.is_current(4) && !parsed.is_current(6));
        let django = StoredHash::parse(&format!("bcrypt${hash}")).unwrap();
        assert!(django.verify("x"));
        assert!(!django.is_current(4));
    }
}
