//! A per-client fixed-window rate limit for the reference backend, and how the client is
//! told apart behind a reverse proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use super::config::{ClientAddress, ClientIpHeader};

/// Counts requests per client IP in one-minute windows.
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests per client; 0 disables it.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request; `Err(seconds)` says how long the client must wait.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old windows so the map cannot grow without bound.
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, count) = windows.entry(client).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(60u64
                .saturating_sub(now.duration_since(*start).as_secs())
                .max(1));
        }
        *count += 1;
        Ok(())
    }
}

/// The address a request is counted against: the TCP peer, unless the peer is a trusted
/// proxy, whose header then names the client. A header from anyone else is ignored, since
/// any client can forge it.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, policy: &ClientAddress) -> IpAddr {
    let trusted = |ip: &IpAddr| policy.trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    match policy.header {
        ClientIpHeader::CfConnectingIp => headers
            .get("cf-connecting-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(peer),
        // Each proxy appends the address it saw; the right-most one a trusted proxy did not
        // add is the client (addresses left of it may be forged by the client).
        ClientIpHeader::XForwardedFor => {
            let entries: Vec<&str> = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect();
            for entry in entries.iter().rev() {
                match entry.parse::<IpAddr>() {
                    Ok(ip) if trusted(&ip) => continue,
                    Ok(ip) => return ip,
                    // An entry that is not a bare address (`ip:port`, `unknown`) ends the
                    // trusted part of the chain: what lies left of it may be the client's own.
                    Err(_) => return peer,
                }
            }
            peer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn behind(proxies: &[&str], header: ClientIpHeader) -> ClientAddress {
        ClientAddress {
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            header,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let policy = behind(&[], ClientIpHeader::XForwardedFor);
        let forged = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_of(peer, &forged, &policy), peer);
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let policy = behind(&["10.0.0.0/8"], ClientIpHeader::XForwardedFor);
        // The client claims 6.6.6.6; the proxy appended what it saw, 198.51.100.7.
        let sent = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.3")]);
        assert_eq!(
            client_of(proxy, &sent, &policy),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn an_entry_that_is_not_an_address_ends_the_chain() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let policy = behind(&["10.0.0.0/8"], ClientIpHeader::XForwardedFor);
        for sent in [
            "6.6.6.6, 198.51.100.7:4711",
            "6.6.6.6, unknown",
            "6.6.6.6, [2001:db8::1]",
        ] {
            let forged = headers(&[("x-forwarded-for", sent)]);
            assert_eq!(client_of(proxy, &forged, &policy), proxy, "{sent}");
        }
    }

    #[test]
    fn behind_cloudflare_the_connecting_ip_header_names_the_client() {
        let edge: IpAddr = "173.245.48.1".parse().unwrap();
        let policy = behind(&["173.245.48.0/20"], ClientIpHeader::CfConnectingIp);
        let sent = headers(&[("cf-connecting-ip", "2001:db8::7")]);
        assert_eq!(
            client_of(edge, &sent, &policy),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn refuses_past_the_limit_per_client() {
        let limiter = RateLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_err());
        assert!(
            limiter.check(b).is_ok(),
            "another client has its own window"
        );
    }
}
