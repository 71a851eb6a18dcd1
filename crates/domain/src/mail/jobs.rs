//! Jobs: outbox rows that name a recipient and a kind but hold no text. The flow that owns the
//! kind registers how to write the mail at send time ([`MailJobs::register`]); the sender looks
//! the kind up here, so the outbox knows no flow.

use crate::error::AppResult;
use crate::mail::transport::OutgoingMail;
use crate::state::Ctx;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use todoql_entity::email_outbox::MailKind;

/// Writes a claimed job's mail (and whatever the mail carries, such as a token) in one
/// transaction; `None` when there is nothing to send, and then the job row is gone.
pub type PrepareJob = for<'a> fn(
    Ctx<'a, DatabaseConnection>,
    &'a OutgoingMail,
) -> BoxFuture<'a, AppResult<Option<OutgoingMail>>>;

/// The job kinds the sender knows, each with the function that writes its mail.
#[derive(Clone, Default)]
pub struct MailJobs {
    handlers: Vec<(MailKind, PrepareJob)>,
}

impl std::fmt::Debug for MailJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<MailKind> = self.handlers.iter().map(|(kind, _)| *kind).collect();
        f.debug_struct("MailJobs").field("kinds", &kinds).finish()
    }
}

impl MailJobs {
    /// Adds the job of `kind`.
    pub fn register(mut self, kind: MailKind, prepare: PrepareJob) -> Self {
        self.handlers.retain(|(known, _)| *known != kind);
        self.handlers.push((kind, prepare));
        self
    }

    /// The function that writes mails of `kind`, when it is a job.
    pub fn handler(&self, kind: MailKind) -> Option<PrepareJob> {
        self.handlers
            .iter()
            .find(|(known, _)| *known == kind)
            .map(|(_, prepare)| *prepare)
    }
}
