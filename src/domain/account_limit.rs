//! How many reset emails an account may get in an hour (the abuse rules): a few
//! per client network, so requests from other networks never use up the
//! allowance of the owner's own, and an overall ceiling across all networks,
//! which bounds mail bombing. A pure rule; the worker applies it inside the
//! transaction that issues the token, under the account's row lock.

use std::net::IpAddr;

use chrono::NaiveDateTime;

#[derive(Clone, Copy, Debug)]
pub struct AccountEmailLimit {
    /// Tokens created after this count.
    pub since: NaiveDateTime,
    /// Emails per client network (IPv4 /24, IPv6 /48).
    pub per_network: usize,
    /// Emails from all networks together.
    pub overall: usize,
}

impl AccountEmailLimit {
    /// Whether one more email may go out for a request from `requester`,
    /// given the addresses the account's recent tokens were requested from
    /// (None: a service asked, or the address is unknown).
    pub fn allows(&self, requester: Option<&str>, recent: &[Option<String>]) -> bool {
        if recent.len() >= self.overall {
            return false;
        }
        let mine = stored_owner_network(requester);
        recent
            .iter()
            .filter(|r| stored_owner_network(r.as_deref()) == mine)
            .count()
            < self.per_network
    }
}

/// `owner_network` of an address as stored with a token (text); None when
/// unknown or unreadable.
pub fn stored_owner_network(ip: Option<&str>) -> Option<String> {
    ip?.parse::<IpAddr>().ok().map(owner_network)
}

/// The network a client address belongs to for the owner's allowance (and
/// the per-address forgot counter): IPv4 /24, IPv6 /48 (a site). Per-IP
/// limits count a narrower unit (`limits::ip_limit_key`: IPv4 address,
/// IPv6 /64).
pub fn owner_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 80);
            format!("{}/48", std::net::Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit() -> AccountEmailLimit {
        AccountEmailLimit {
            since: chrono::Utc::now().naive_utc(),
            per_network: 3,
            overall: 5,
        }
    }

    #[test]
    fn other_networks_never_use_up_the_owners_allowance() {
        let attacker: Vec<Option<String>> =
            (1..=3).map(|n| Some(format!("203.0.113.{n}"))).collect();
        assert!(
            !limit().allows(Some("203.0.113.99"), &attacker),
            "the attacker's /24 is spent"
        );
        assert!(
            limit().allows(Some("198.51.100.7"), &attacker),
            "the owner's is not"
        );
        let v6: Vec<Option<String>> = (1..=3)
            .map(|n| Some(format!("2001:db8:1:{n}::1")))
            .collect();
        assert!(!limit().allows(Some("2001:db8:1:ffff::2"), &v6), "one /48");
        assert!(limit().allows(Some("2001:db8:2::1"), &v6));
    }

    #[test]
    fn the_overall_ceiling_holds_across_networks() {
        let spread: Vec<Option<String>> = (1..=5).map(|n| Some(format!("198.51.{n}.1"))).collect();
        assert!(!limit().allows(Some("192.0.2.1"), &spread));
    }
}
