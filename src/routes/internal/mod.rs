//! The internal API's handlers that are not yet a flow's: a service starts
//! a reset, and reads back an emailed one's record (the users' are
//! `flows::provision`'s). Callers are authenticated (`http::service_auth`),
//! so unlike the public API these answers may say whether a user exists.

mod reset_requests;

pub(crate) use reset_requests::{
    __path_create_reset_request, __path_reset_request_record, create_reset_request,
    reset_request_record,
};
