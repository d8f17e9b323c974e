//! The one error type of every forge's API calls, whatever the client
//! underneath (ureq for GitLab, octocrab for GitHub): what the flow needs
//! to decide between a read-only token (one warning) and another failure.

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error status (after retries).
    #[error("{service} API {method} {path}: HTTP {status}: {message}")]
    Status { service: &'static str, method: String, path: String, status: u16, message: String },
    /// No answer at all.
    #[error("{service} API {method} {path}: {message}")]
    Transport { service: &'static str, method: String, path: String, message: String },
    /// A success answer that is not what the API documents (a typed
    /// model could not read it).
    #[error("{service} API {method} {path}: unexpected answer: {message}")]
    Decode { service: &'static str, method: String, path: String, message: String },
}

impl ApiError {
    /// HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Transport { .. } | ApiError::Decode { .. } => None,
        }
    }

    /// `GitHub` or `GitLab`.
    pub fn service(&self) -> &'static str {
        match self {
            ApiError::Status { service, .. }
            | ApiError::Transport { service, .. }
            | ApiError::Decode { service, .. } => service,
        }
    }

    /// A read-only or insufficient token (fork PRs, missing permissions).
    pub fn is_forbidden(&self) -> bool {
        matches!(self.status(), Some(403) | Some(404))
    }
}
