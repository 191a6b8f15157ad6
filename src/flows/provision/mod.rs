//! Provision: users as other services and operators manage them: create or
//! update, disable, delete, and revoke their links. Each change that could
//! let an old link reach the wrong person kills the user's outstanding
//! links. Entry points: the internal API's `/internal/v1/users/...`
//! (`api.rs`) and `pwreset user add|disable`.

pub mod api;

use crate::clock::Clock;
use crate::domain::{EmailAddress, UserId};
use crate::flow_error::FlowError;
use crate::i18n::Locale;
use crate::storage::Repo;
use crate::storage::users::{InsertUserError, NewUser, Upserted, User, UserUpsert};
use crate::vetting::Vetting;

/// What a service (internal API) or an operator (CLI) asks to be true.
#[derive(Debug)]
pub struct NewUserRequest {
    pub id: UserId,
    pub email: EmailAddress,
    /// A bcrypt hash the caller computed, when it has one.
    pub password_hash: Option<String>,
    /// None leaves an existing user's state as it is.
    pub disabled: Option<bool>,
    /// The language of the user's emails; None leaves it as it is.
    pub locale: Option<Locale>,
}

/// What a provisioning call changed.
#[derive(Debug)]
pub struct Provisioned {
    pub user: User,
    pub created: bool,
    pub links_revoked: bool,
}

impl From<InsertUserError> for FlowError {
    fn from(e: InsertUserError) -> Self {
        match e {
            InsertUserError::Conflict => Self::Conflict,
            InsertUserError::Storage(e) => Self::Storage(e),
        }
    }
}

/// The provisioning flow, with what it needs: the database, the clock, the
/// vetting of a password an operator sets, and whether this pwreset keeps
/// password hashes at all (not when the application holds them). Cheap to
/// clone.
#[derive(Clone)]
pub struct Provision {
    repo: Repo,
    clock: Clock,
    vetting: Vetting,
    keeps_hashes: bool,
}

impl Provision {
    pub fn new(repo: Repo, clock: Clock, vetting: Vetting, keeps_hashes: bool) -> Self {
        Self {
            repo,
            clock,
            vetting,
            keeps_hashes,
        }
    }

    /// False when the application holds the passwords: no hash is taken.
    pub fn keeps_hashes(&self) -> bool {
        self.keeps_hashes
    }

    /// Creates the user, or updates it when the id exists (internal API `PUT`).
    pub async fn provision_user(&self, request: &NewUserRequest) -> Result<Provisioned, FlowError> {
        let locale = request.locale.as_ref().map(Locale::tag);
        let change = UserUpsert {
            id: &request.id,
            email: &request.email,
            password_hash: request.password_hash.as_deref(),
            disabled: request.disabled,
            locale: locale.as_deref(),
        };
        let Upserted {
            user,
            created,
            tokens_revoked,
        } = self
            .repo
            .upsert_user(&change, self.clock.now_naive())
            .await?;
        Ok(Provisioned {
            user,
            created,
            links_revoked: tokens_revoked,
        })
    }

    /// Creates a user that must not exist yet (`pwreset user add`), with an
    /// optional first password checked by the policy (refused when the
    /// application holds the passwords: it sets them itself).
    pub async fn add_user(
        &self,
        id: &UserId,
        email: &EmailAddress,
        password: Option<&str>,
    ) -> Result<(), FlowError> {
        if password.is_some() && !self.keeps_hashes {
            return Err(FlowError::KeepsNoHashes);
        }
        let hash = match password {
            Some(raw) => {
                let password = self.vetting.vet(raw, email.as_str()).await?;
                Some(self.vetting.hash(&password).await?)
            }
            None => None,
        };
        let now = self.clock.now_naive();
        self.repo
            .insert_user(&NewUser {
                id,
                email: email.as_str(),
                password_hash: hash.as_deref(),
                disabled: false,
                password_changed_at: hash.as_ref().map(|_| now),
                created_at: now,
                updated_at: now,
                locale: None,
            })
            .await?;
        Ok(())
    }

    /// Deletes the user; its tokens go with it.
    pub async fn delete_user(&self, id: &UserId) -> Result<(), FlowError> {
        if self.repo.delete_user(id).await? {
            Ok(())
        } else {
            Err(FlowError::UserNotFound)
        }
    }

    /// Disables the user found by email and kills their links (`pwreset user disable`).
    pub async fn disable_user(&self, email: &EmailAddress) -> Result<User, FlowError> {
        let user = self
            .repo
            .find_user_by_email(email)
            .await?
            .ok_or(FlowError::UserNotFound)?;
        if !self
            .repo
            .disable_user(&user.id, self.clock.now_naive())
            .await?
        {
            return Err(FlowError::UserNotFound);
        }
        Ok(user)
    }

    /// Kills every outstanding link of a user; returns how many died.
    pub async fn revoke_links(&self, id: &UserId) -> Result<usize, FlowError> {
        self.repo
            .revoke_tokens(id)
            .await?
            .ok_or(FlowError::UserNotFound)
    }
}
