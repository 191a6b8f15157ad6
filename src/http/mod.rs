//! The HTTP shell the flows' handlers stand on: JSON bodies (`json`), typed
//! ones and their refusals (`body`), the request-body deadline, each
//! request's id and access line (`request_id`), the service-key check,
//! what every handler gets (`AppState`), the refusals operations share and
//! their OpenAPI descriptions, and the hosted pages' frame (`page`: headers,
//! form posts, rendering in the reader's language). The routes table that
//! puts handlers at paths is `routes`, above the flows.

pub(crate) mod body;
mod deadline;
mod json;
pub(crate) mod page;
pub(crate) mod refusals;
mod request_id;
pub(crate) mod service_auth;
mod state;

pub use deadline::body_deadline;
pub(crate) use json::Json;
pub(crate) use refusals::method_not_allowed;
pub use refusals::not_found;
pub use request_id::tag_request;
pub use state::AppState;
