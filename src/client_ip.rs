//! The client's address: the socket peer, unless the peer is a trusted proxy,
//! in which case the right-most address in the forwarding headers that is not
//! itself a trusted proxy. Client-sent headers are never believed otherwise
//! (actix's `realip_remote_addr` would believe them).

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR")]
pub struct NotAnAddress(pub String);

impl TrustedProxies {
    /// `TRUSTED_PROXIES`: a comma list of IPs and CIDRs.
    pub fn parse(raw: &str) -> Result<Self, NotAnAddress> {
        let mut nets = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| NotAnAddress(entry.to_owned()))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for this request.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.contains(&peer) {
            return Some(peer);
        }
        // Walk the chain from the right (the hop nearest to us) past our own proxies.
        let chain = forwarded_chain(req);
        Some(
            chain
                .into_iter()
                .rev()
                .find(|ip| !self.contains(ip))
                .unwrap_or(peer),
        )
    }
}

/// Addresses from `X-Forwarded-For`, or else `Forwarded: for=`, left to right.
fn forwarded_chain(req: &HttpRequest) -> Vec<IpAddr> {
    let headers = req.headers();
    let xff: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_ip(s.trim()))
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_ip(value.trim().trim_matches('"')))?
        })
        .collect()
}

/// An IP, as `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_ip(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = raw.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    raw.rsplit_once(':')?
        .0
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .map(IpAddr::V4)
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        req.to_http_request()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let req = request("203.0.113.9:4000", &[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(
            proxies.client_ip(&req),
            Some("203.0.113.9".parse().unwrap())
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_wins() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        // The client forged the first entry; our proxies appended the rest.
        let req = request(
            "10.0.0.2:80",
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 192.168.1.7")],
        );
        assert_eq!(
            proxies.client_ip(&req),
            Some("198.51.100.4".parse().unwrap())
        );
        let req = request(
            "10.0.0.2:80",
            &[(
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8::7]:443\";proto=https",
            )],
        );
        assert_eq!(
            proxies.client_ip(&req),
            Some("2001:db8::7".parse().unwrap())
        );
        let req = request("10.0.0.2:80", &[]);
        assert_eq!(proxies.client_ip(&req), Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse("").is_ok());
    }
}
