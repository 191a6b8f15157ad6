//! Reading an import file into user records: JSON Lines
//! (`{"id", "email", "password_hash"?, "disabled"?, "locale"?}`, one per
//! line) or Django's `manage.py dumpdata` output (a JSON array of
//! `{"model", "pk", "fields": {"email", "password", "is_active"?, ...}}`).
//! Each record is checked on its own: a bad one is refused with its
//! position and reason, and the others go on.

use std::io::BufRead;

use serde_json::{Map, Value};

use crate::domain::{EmailAddress, UserId};
use crate::hasher::formats::StoredHash;
use crate::i18n::Locale;

/// The two file formats `pwreset user import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// One JSON object per line.
    Jsonl,
    /// The JSON array `manage.py dumpdata auth.user` (or a custom user
    /// model with `email`, `password`, `is_active`) writes.
    Django,
}

/// Where a record sits in its file, as an operator finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    Line(usize),
    Record(usize),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// One user as the file describes it, checked. `None` leaves an existing
/// user's value as it is (a new user gets no password, enabled, no
/// language).
#[derive(Clone, Debug)]
pub struct ImportedUser {
    pub id: UserId,
    pub email: EmailAddress,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub locale: Option<String>,
}

/// A record that was not read: where, and why (in an operator's words;
/// never the hash itself).
#[derive(Clone, Debug)]
pub struct Refusal {
    pub position: Position,
    pub reason: String,
}

pub type Parsed = Result<(Position, ImportedUser), Refusal>;

/// Why the file as a whole cannot be read (as opposed to one record).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "not a Django dumpdata file: {0} (expected a JSON array of {{\"model\", \"pk\", \"fields\"}})"
    )]
    Django(serde_json::Error),
}

/// The records of a JSON Lines file, one at a time (blank lines skipped).
pub fn jsonl(reader: impl BufRead) -> impl Iterator<Item = Result<Parsed, FileError>> {
    reader
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(index, line)| {
            let position = Position::Line(index + 1);
            Ok(jsonl_record(&line?).map_or_else(
                |reason| {
                    Err(Refusal {
                        position: position.clone(),
                        reason,
                    })
                },
                |user| Ok((position.clone(), user)),
            ))
        })
}

const JSONL_FIELDS: [&str; 5] = ["id", "email", "password_hash", "disabled", "locale"];

fn jsonl_record(line: &str) -> Result<ImportedUser, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".to_owned());
    };
    if let Some(unknown) = object.keys().find(|k| !JSONL_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field {:?} (expected {})",
            crate::log_safe::clean(unknown),
            JSONL_FIELDS.join(", ")
        ));
    }
    let id = match object.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err("id: must be a string".to_owned()),
        None => return Err("id: missing".to_owned()),
    };
    let hash = optional_string(&object, "password_hash")?;
    user(
        &id,
        &object,
        "email",
        hash.as_deref().map(Hash::Given),
        optional_bool(&object, "disabled")?,
        optional_string(&object, "locale")?,
    )
}

/// The records of a Django `dumpdata` file. The array is read whole (a
/// dump of 100,000 users is tens of MiB).
pub fn django(reader: impl BufRead) -> Result<Vec<Parsed>, FileError> {
    let records: Vec<Value> = serde_json::from_reader(reader).map_err(FileError::Django)?;
    Ok(records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let position = Position::Record(index + 1);
            match django_record(record) {
                Ok(user) => Ok((position, user)),
                Err(reason) => Err(Refusal { position, reason }),
            }
        })
        .collect())
}

fn django_record(record: &Value) -> Result<ImportedUser, String> {
    let pk = match record.get("pk") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("pk: must be a number or a string".to_owned()),
        None => return Err("pk: missing (dump with natural primary keys off)".to_owned()),
    };
    let Some(Value::Object(fields)) = record.get("fields") else {
        return Err("fields: missing or not an object".to_owned());
    };
    let password = match fields.get("password") {
        Some(Value::String(p)) => p.as_str(),
        Some(_) => return Err("fields.password: must be a string".to_owned()),
        None => return Err("fields.password: missing (not a user model?)".to_owned()),
    };
    // Django marks a user without a usable password with `!` (and older
    // versions with an empty string): no password yet, not a hash.
    let hash = if password.is_empty() || password.starts_with('!') {
        Hash::Unusable
    } else {
        Hash::Given(password)
    };
    let disabled = optional_bool(fields, "is_active")
        .map_err(|e| format!("fields.{e}"))?
        .map(|active| !active);
    user(&pk, fields, "email", Some(hash), disabled, None).map_err(|e| match &e {
        e if e.starts_with("email") => format!("fields.{e}"),
        _ => e,
    })
}

/// What a record says about the password.
enum Hash<'a> {
    Given(&'a str),
    /// Django's `!`: no password yet.
    Unusable,
}

fn user(
    id: &str,
    object: &Map<String, Value>,
    email_field: &str,
    hash: Option<Hash<'_>>,
    disabled: Option<bool>,
    locale: Option<String>,
) -> Result<ImportedUser, String> {
    let id = UserId::parse(id).map_err(|e| format!("id: {e}"))?;
    let email = match object.get(email_field) {
        Some(Value::String(raw)) => {
            EmailAddress::parse(raw).map_err(|e| format!("{email_field}: {e}"))?
        }
        Some(_) => return Err(format!("{email_field}: must be a string")),
        None => return Err(format!("{email_field}: missing")),
    };
    let password_hash = match hash {
        Some(Hash::Given(text)) => {
            StoredHash::parse(text).map_err(|e| {
                format!(
                    "password hash: {e}; accepted: {}",
                    crate::hasher::formats::ACCEPTED
                )
            })?;
            Some(text.to_owned())
        }
        Some(Hash::Unusable) | None => None,
    };
    let locale = match locale {
        Some(raw) => Some(
            Locale::parse(&raw)
                .ok_or_else(|| {
                    format!(
                        "locale: {:?} is not one of {}",
                        crate::log_safe::clean(&raw),
                        Locale::all()
                            .iter()
                            .map(Locale::tag)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?
                .tag(),
        ),
        None => None,
    };
    Ok(ImportedUser {
        id,
        email,
        password_hash,
        disabled,
        locale,
    })
}

fn optional_string(object: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{field}: must be a string")),
    }
}

fn optional_bool(object: &Map<String, Value>, field: &str) -> Result<Option<bool>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{field}: must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(input: &str) -> Vec<String> {
        jsonl(input.as_bytes())
            .map(|r| match r.unwrap() {
                Ok((_, user)) => format!("ok {}", user.id),
                Err(refusal) => format!("{}: {}", refusal.position, refusal.reason),
            })
            .collect()
    }

    #[test]
    fn each_bad_line_is_named_and_the_rest_are_read() {
        let hash = bcrypt::hash("correct horse battery", 4).unwrap();
        let input = format!(
            "{{\"id\":\"u1\",\"email\":\"A@Example.com\",\"password_hash\":\"{hash}\"}}\n\
             \n\
             not json\n\
             {{\"id\":\"u2\",\"email\":\"\"}}\n\
             {{\"id\":\"u3\",\"email\":\"c@example.com\",\"password_hash\":\"hunter2\"}}\n\
             {{\"id\":\"u4\",\"email\":\"d@example.com\",\"pasword_hash\":\"x\"}}\n\
             {{\"id\":5,\"email\":\"e@example.com\"}}\n\
             {{\"id\":\"u6\",\"email\":\"f@example.com\",\"disabled\":\"no\"}}\n\
             {{\"id\":\"u7\",\"email\":\"g@example.com\",\"locale\":\"tlh\"}}\n\
             {{\"id\":\"u8\",\"email\":\"h@example.com\",\"disabled\":true,\"locale\":\"de\"}}\n"
        );
        let got = reasons(&input);
        assert_eq!(got[0], "ok u1");
        assert!(got[1].starts_with("line 3: not JSON"), "{got:?}");
        assert!(got[2].starts_with("line 4: email: "), "{got:?}");
        assert!(
            got[3].starts_with("line 5: password hash: not a password hash"),
            "{got:?}"
        );
        assert!(got[4].starts_with("line 6: unknown field"), "{got:?}");
        assert_eq!(got[5], "line 7: id: must be a string");
        assert_eq!(got[6], "line 8: disabled: must be true or false");
        assert!(got[7].starts_with("line 9: locale:"), "{got:?}");
        assert_eq!(got[8], "ok u8");
        assert_eq!(got.len(), 9);
    }

    #[test]
    fn django_unusable_passwords_are_no_password_and_inactive_is_disabled() {
        let input = r#"[
            {"model":"auth.user","pk":1,"fields":{"email":"a@example.com","password":"!x","is_active":false,"username":"a"}},
            {"model":"auth.user","pk":"b-2","fields":{"email":"b@example.com","password":""}},
            {"model":"auth.group","pk":3,"fields":{"name":"staff"}},
            {"model":"auth.user","pk":4,"fields":{"email":"","password":"!","is_active":true}}
        ]"#;
        let parsed = django(input.as_bytes()).unwrap();
        let (_, first) = parsed[0].as_ref().unwrap();
        assert_eq!(first.id.as_str(), "1");
        assert!(first.password_hash.is_none());
        assert_eq!(first.disabled, Some(true));
        let (_, second) = parsed[1].as_ref().unwrap();
        assert_eq!(second.id.as_str(), "b-2");
        assert_eq!(second.disabled, None);
        let third = parsed[2].as_ref().unwrap_err();
        assert_eq!(third.position, Position::Record(3));
        assert!(third.reason.starts_with("fields.password: missing"));
        let fourth = parsed[3].as_ref().unwrap_err();
        assert!(fourth.reason.starts_with("fields.email: "), "{fourth:?}");
    }
}
