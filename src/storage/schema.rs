// One schema for both backends: every column type here means the same on
// Postgres and SQLite (TEXT ids, TIMESTAMP in UTC, INTEGER counters).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        password_changed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        locale -> Nullable<Text>,
        password_sequence -> BigInt,
        code_failures -> Integer,
        code_failures_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        requested_ip -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        code_hmac -> Nullable<Text>,
        code_attempts -> Integer,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        give_up_at -> Nullable<Timestamp>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, password_reset_tokens, outbox, rate_limits);

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> Timestamp,
        count -> Integer,
        last_at -> Timestamp,
    }
}

diesel::table! {
    pending_upgrades (name) {
        name -> Text,
    }
}
