//! Import: an operator moves an existing user base in with one command
//! (`pwreset user import FILE [--format jsonl|django]`). Records are read
//! and checked one by one (`records.rs`), written in batches without any
//! hashing (a hash is checked for its format and bounds, and verified only
//! when its owner signs in), and counted: created, updated, unchanged,
//! refused with each refusal's position and reason. Running the same file
//! twice changes nothing the second time.

pub mod records;

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;

use self::records::{FileError, ImportFormat, ImportedUser, Parsed, Position, Refusal};
use crate::clock::Clock;
use crate::domain::{EmailAddress, UserId};
use crate::metrics::Metrics;
use crate::storage::import::{ImportOutcome, ImportRow};
use crate::storage::{Repo, StorageError};

/// Users per transaction: large enough that a round trip is shared by many
/// users, small enough that a batch holds SQLite's write lock briefly.
const BATCH: usize = 1000;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: Vec<Refusal>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "created {}, updated {}, unchanged {}, refused {}",
            self.created,
            self.updated,
            self.unchanged,
            self.refused.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the database: {0}")]
    Storage(#[from] StorageError),
}

/// The import flow, with what it needs: the database, the clock, the
/// metrics, and whether this pwreset keeps hashes at all (with a password
/// handoff it keeps none, so a record with a hash is refused).
#[derive(Clone)]
pub struct Import {
    repo: Repo,
    clock: Clock,
    metrics: Arc<Metrics>,
    keeps_hashes: bool,
}

impl Import {
    pub fn new(repo: Repo, clock: Clock, metrics: Arc<Metrics>, keeps_hashes: bool) -> Self {
        Self {
            repo,
            clock,
            metrics,
            keeps_hashes,
        }
    }

    /// Reads `reader` as `format` and writes its users. A storage error
    /// stops the import (the batches already written stay written; running
    /// the file again finishes it).
    pub async fn run(
        &self,
        reader: impl BufRead,
        format: ImportFormat,
    ) -> Result<ImportReport, ImportError> {
        let mut run = Run {
            import: self,
            report: ImportReport::default(),
            seen_ids: HashMap::new(),
            seen_emails: HashMap::new(),
            batch: Vec::with_capacity(BATCH),
        };
        match format {
            ImportFormat::Jsonl => {
                for parsed in records::jsonl(reader) {
                    run.take(parsed?).await?;
                }
            }
            ImportFormat::Django => {
                for parsed in records::django(reader)? {
                    run.take(parsed).await?;
                }
            }
        }
        run.flush().await?;
        Ok(run.report)
    }
}

/// One import in progress.
struct Run<'a> {
    import: &'a Import,
    report: ImportReport,
    /// Where each id and email was first seen: a second record for either
    /// is refused (which of two records wins must not depend on batching).
    seen_ids: HashMap<UserId, Position>,
    seen_emails: HashMap<EmailAddress, Position>,
    batch: Vec<(Position, ImportedUser)>,
}

impl Run<'_> {
    async fn take(&mut self, parsed: Parsed) -> Result<(), ImportError> {
        let (position, user) = match parsed {
            Ok(record) => record,
            Err(refusal) => {
                self.refuse(refusal.position, refusal.reason);
                return Ok(());
            }
        };
        if user.password_hash.is_some() && !self.import.keeps_hashes {
            self.refuse(
                position,
                "a password hash, and this pwreset keeps none (PASSWORD_HANDOFF_URL is set: \
                 the application holds the passwords)"
                    .to_owned(),
            );
            return Ok(());
        }
        if let Some(first) = self.seen_ids.get(&user.id) {
            let reason = format!("id {} already appears at {first}", user.id);
            self.refuse(position, reason);
            return Ok(());
        }
        if let Some(first) = self.seen_emails.get(&user.email) {
            let reason = format!("email {} already appears at {first}", user.email);
            self.refuse(position, reason);
            return Ok(());
        }
        self.seen_ids.insert(user.id.clone(), position.clone());
        self.seen_emails
            .insert(user.email.clone(), position.clone());
        self.batch.push((position, user));
        if self.batch.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    fn refuse(&mut self, position: Position, reason: String) {
        self.import.metrics.user_imported("refused");
        self.report.refused.push(Refusal { position, reason });
    }

    async fn flush(&mut self) -> Result<(), ImportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let rows: Vec<ImportRow<'_>> = batch
            .iter()
            .map(|(_, user)| ImportRow {
                id: &user.id,
                email: &user.email,
                password_hash: user.password_hash.as_deref(),
                disabled: user.disabled,
                locale: user.locale.as_deref(),
            })
            .collect();
        let now = self.import.clock.now_naive();
        let outcomes = self.import.repo.import_users(&rows, now).await?;
        for ((position, user), outcome) in batch.iter().zip(outcomes) {
            let label = match outcome {
                ImportOutcome::Created => {
                    self.report.created += 1;
                    "created"
                }
                ImportOutcome::Updated => {
                    self.report.updated += 1;
                    "updated"
                }
                ImportOutcome::Unchanged => {
                    self.report.unchanged += 1;
                    "unchanged"
                }
                ImportOutcome::EmailTaken => {
                    let reason = format!("email {} belongs to another user", user.email);
                    self.refuse(position.clone(), reason);
                    continue;
                }
            };
            self.import.metrics.user_imported(label);
        }
        Ok(())
    }
}
