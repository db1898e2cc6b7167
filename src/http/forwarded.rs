//! The client's address behind trusted proxies: `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`, believed only as far as the chain of proxies the
//! server trusts reaches.
//!
//! A proxy appends the address it received a request from, so the list is
//! read from the right: the peer must be trusted for the headers to count
//! at all, then each trusted hop hands over to the address before it, and
//! the first untrusted address is the client. An entry that is not an
//! address (`unknown`, an obfuscated name, garbage) stops the walk at the
//! last address known, which a client cannot choose.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::Headers;

/// An address block: an address and a prefix length (`10.0.0.0/8`,
/// `fd00::/8`; an address alone is a block of one).
///
/// ```
/// use lightapi::http::Cidr;
/// let block: Cidr = "10.1.0.0/16".parse().unwrap();
/// assert!(block.contains("10.1.2.3".parse().unwrap()));
/// assert!(!block.contains("10.2.0.1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<Cidr>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// Why a text is not an address block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an IP address or address/prefix", self.0)
    }
}

impl std::error::Error for CidrError {}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            // Digits only, no leading zero: `+8` and `08` are refused.
            Some(p)
                if p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0')) =>
            {
                match p.parse::<u8>() {
                    Ok(p) if p <= max => p,
                    _ => return Err(bad()),
                }
            }
            Some(_) => return Err(bad()),
        };
        Ok(Cidr {
            net: mask(net, prefix),
            prefix,
        })
    }
}

impl Cidr {
    /// Whether `ip` lies in the block (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.net.is_ipv4() && mask(ip, self.prefix) == self.net
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// The client's address: `peer` itself unless it is one of `trusted`, in
/// which case the forwarding headers are read as the module describes.
pub(crate) fn client_ip(peer: IpAddr, headers: &Headers, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = forwarded_for(headers);
    let mut known = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if is_trusted(*ip) => known = *ip,
            Some(ip) => return *ip,
            None => return known,
        }
    }
    known
}

/// The addresses the forwarding headers name, leftmost first: those of
/// `Forwarded` when there is one, else those of `X-Forwarded-For`. `None`
/// for an entry that is not an address.
fn forwarded_for(headers: &Headers) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&[u8]> = headers.get_all("forwarded").collect();
    if !forwarded.is_empty() {
        let mut out = Vec::new();
        for line in forwarded {
            let text = String::from_utf8_lossy(line);
            for element in text.split(',') {
                let value = element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
                });
                // An element without `for` says nothing of the client.
                if let Some(v) = value {
                    out.push(node_address(v.trim_matches('"')));
                }
            }
        }
        return out;
    }
    headers
        .get_all("x-forwarded-for")
        .flat_map(|line| {
            String::from_utf8_lossy(line)
                .split(',')
                .map(|v| node_address(v.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// An address from a node name: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]`,
/// `[2001:db8::1]:8080`, or a bare IPv6 address.
fn node_address(v: &str) -> Option<IpAddr> {
    if let Some(rest) = v.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse().ok().map(canonical);
    }
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    let (addr, port) = v.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in lines {
            h.push(n.as_bytes(), v.as_bytes());
        }
        h
    }

    fn trusted() -> Vec<Cidr> {
        vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]
    }

    #[test]
    fn blocks_parse_and_match() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert!(c.contains(ip("10.255.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.0.0.9")));
        let one: Cidr = "2001:db8::1".parse().unwrap();
        assert!(one.contains(ip("2001:db8::1")));
        assert!(!one.contains(ip("2001:db8::2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(!all.contains(ip("::2")));
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "x/8",
            "10.0.0.0/+8",
            "10/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[("X-Forwarded-For", "1.2.3.4"), ("Forwarded", "for=5.6.7.8")]);
        assert_eq!(
            client_ip(ip("203.0.113.7"), &h, &trusted()),
            ip("203.0.113.7")
        );
        assert_eq!(client_ip(ip("203.0.113.7"), &h, &[]), ip("203.0.113.7"));
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let h = headers(&[("X-Forwarded-For", "6.6.6.6, 198.51.100.2, 10.0.0.5")]);
        // 6.6.6.6 was written by the client itself: not believed.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted()),
            ip("198.51.100.2")
        );
        let h = headers(&[
            ("X-Forwarded-For", "198.51.100.2"),
            ("X-Forwarded-For", "10.0.0.5"),
        ]);
        assert_eq!(client_ip(ip("::1"), &h, &trusted()), ip("198.51.100.2"));
        // Only trusted hops: the leftmost.
        let h = headers(&[("X-Forwarded-For", "10.9.9.9")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted()), ip("10.9.9.9"));
        // No header: the peer.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&[]), &trusted()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_wins_and_its_node_forms_are_read() {
        let h = headers(&[
            ("X-Forwarded-For", "1.1.1.1"),
            (
                "Forwarded",
                "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https, by=10.0.0.2;for=10.0.0.3",
            ),
        ]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted()), ip("2001:db8::7"));
        let h = headers(&[("Forwarded", "for=\"198.51.100.9:80\"")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted()),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn an_entry_that_is_no_address_stops_at_the_last_known_hop() {
        let h = headers(&[("Forwarded", "for=198.51.100.1, for=unknown, for=10.0.0.4")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted()), ip("10.0.0.4"));
        let h = headers(&[("X-Forwarded-For", "garbage")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted()), ip("10.0.0.1"));
    }
}
