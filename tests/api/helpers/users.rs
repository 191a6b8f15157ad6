//! Accounts, provisioned the way a backend service does it: through the
//! internal API with a bcrypt hash it computed, never through the repository.

use std::collections::HashMap;

use pwreset::domain::UserId;
use pwreset::storage::users::User;
use reqwest::Response;
use serde_json::{Value, json};

use super::app::TestApp;

pub const BILLING_KEY: &str = "billing-key-0123456789abcdefXYZ";
pub const SUPPORT_KEY: &str = "support-key-abcdefghijklmnopQRS";

/// Both services' keys (every test app already has `billing`).
pub fn with_services(env: &mut HashMap<String, String>) {
    env.insert(
        "SERVICE_API_KEYS".into(),
        format!("billing:{BILLING_KEY},support:{SUPPORT_KEY}"),
    );
}

impl TestApp {
    /// A call to the internal API as the `billing` service.
    pub fn internal(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(BILLING_KEY)
    }

    pub async fn put_user(&self, id: &str, body: Value) -> Response {
        self.internal(reqwest::Method::PUT, &format!("/internal/v1/users/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn service_reset(&self, body: Value) -> Response {
        self.internal(reqwest::Method::POST, "/internal/v1/reset-requests")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a user as a service would (with a bcrypt hash when given a password).
    pub async fn add_user(&self, id: &str, email: &str, password: Option<&str>) {
        let mut body = json!({ "email": email });
        if let Some(password) = password {
            body["password_hash"] = bcrypt::hash(password, 4).unwrap().into();
        }
        let response = self.put_user(id, body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    pub async fn add_disabled_user(&self, id: &str, email: &str) {
        self.add_user(id, email, None).await;
        let response = self
            .put_user(id, json!({ "email": email, "disabled": true }))
            .await;
        assert_eq!(response.status(), 200);
    }

    /// Whether the user's stored hash is the hash of `password`.
    pub async fn password_is(&self, id: &str, password: &str) -> bool {
        let hash = self
            .user(id)
            .await
            .password_hash
            .expect("the user has a password");
        bcrypt::verify(password, &hash).unwrap()
    }

    pub async fn user(&self, id: &str) -> User {
        self.find_user(id).await.expect("user exists")
    }

    pub async fn find_user(&self, id: &str) -> Option<User> {
        self.repo()
            .find_user_by_id(&UserId::parse(id).unwrap())
            .await
            .unwrap()
    }
}
