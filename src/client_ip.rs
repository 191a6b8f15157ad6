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

    /// Whether the address is in the list (also `METRICS_ALLOWED_FROM`'s).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address for this request.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.contains(&peer) {
            return Some(peer);
        }
        // Walk the one chain from the right (the hop nearest to us) past our
        // own proxies; the first address that is not ours is the client. An
        // entry that is not an address (`unknown`, `_hidden`, garbage) ends
        // the walk: what lies to its left cannot be trusted, so the client is
        // taken to be the last proxy we could vouch for.
        let mut client = peer;
        for entry in forwarded_chain(req).iter().rev() {
            match parse_ip(entry) {
                Some(ip) if self.contains(&ip) => client = ip,
                Some(ip) => return Some(ip),
                None => break,
            }
        }
        Some(client)
    }
}

/// The entries of one forwarding chain, left to right: `Forwarded: for=`
/// (RFC 7239) when the request has it, else `X-Forwarded-For`; never a mix,
/// so a header the proxy does not write cannot be slipped in beside the one
/// it does.
fn forwarded_chain(req: &HttpRequest) -> Vec<String> {
    let headers = req.headers();
    let forwarded: Vec<String> = headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"').to_owned())
            })
        })
        .collect();
    if headers.contains_key("forwarded") {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
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
    fn only_one_chain_is_read_and_an_unparsable_entry_ends_the_walk() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The proxy writes Forwarded and passes the client's X-Forwarded-For through.
        let req = request(
            "10.0.0.2:80",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("forwarded", "for=198.51.100.4"),
            ],
        );
        assert_eq!(
            proxies.client_ip(&req),
            Some("198.51.100.4".parse().unwrap())
        );
        // A forged entry left of one that does not parse is never used.
        for hidden in ["unknown", "_hidden", "not-an-ip"] {
            let req = request(
                "10.0.0.2:80",
                &[("x-forwarded-for", &format!("6.6.6.6, {hidden}, 10.0.0.9"))],
            );
            assert_eq!(
                proxies.client_ip(&req),
                Some("10.0.0.9".parse().unwrap()),
                "{hidden}"
            );
        }
        let req = request("10.0.0.2:80", &[("forwarded", "for=6.6.6.6, for=unknown")]);
        assert_eq!(proxies.client_ip(&req), Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse("").is_ok());
    }
}
