//! Where this server is reached from: its public origin (the only one whose pages may
//! change anything here), whether it is served over https, and which proxies may name
//! the client's address. Server side only.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a public URL is refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("--public-url {0:?} is not a URL: {1}")]
    NotAUrl(String, url::ParseError),
    #[error(
        "--public-url {0:?} must be http:// or https:// with a host, and no path, query or user"
    )]
    NotAnOrigin(String),
}

/// How this server is reached.
#[derive(Clone, Debug)]
pub struct Site {
    /// `scheme://host[:port]` of every origin whose pages may send state-changing
    /// requests here, as browsers write them in `Origin`.
    origins: Vec<String>,
    /// The public URL's origin, when one was configured: links shown to people use it.
    public: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    proxies: Vec<ipnet::IpNet>,
}

impl Site {
    /// The site of a server listening on `listen`, reached at `public_url` when given
    /// (otherwise at the listen address: on a loopback or unspecified address both
    /// `127.0.0.1`, `[::1]` and `localhost` at that port).
    pub fn new(
        public_url: Option<&str>,
        listen: SocketAddr,
        proxies: Vec<ipnet::IpNet>,
    ) -> Result<Self, SiteError> {
        let public = public_url.map(origin_of).transpose()?;
        let origins = match &public {
            Some(origin) => vec![origin.clone()],
            None => {
                let port = listen.port();
                let ip = listen.ip();
                let hosts = if ip.is_loopback() || ip.is_unspecified() {
                    vec![
                        "127.0.0.1".to_owned(),
                        "localhost".to_owned(),
                        "[::1]".to_owned(),
                    ]
                } else if ip.is_ipv6() {
                    vec![format!("[{ip}]")]
                } else {
                    vec![ip.to_string()]
                };
                hosts
                    .iter()
                    .map(|host| origin_of(&format!("http://{host}:{port}")))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(Self {
            origins,
            public,
            proxies,
        })
    }

    /// Whether the public URL is https: cookies are then Secure and browsers are told
    /// to keep to https (HSTS).
    pub fn https(&self) -> bool {
        self.public
            .as_deref()
            .is_some_and(|o| o.starts_with("https://"))
    }

    /// The origin this server's own pages have, as the refusal of a foreign one names it.
    pub fn origin(&self) -> &str {
        self.public.as_deref().unwrap_or(&self.origins[0])
    }

    /// Whether a page at `origin` (an `Origin` header's value) is this site's own.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// The base of links shown to people (an invitation): the public URL, else the
    /// address the request was sent to.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(public) = &self.public {
            return public.clone();
        }
        match headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| self.allows_origin(&format!("http://{h}")))
        {
            Some(host) => format!("http://{host}"),
            None => self.origins[0].clone(),
        }
    }

    /// The client's address as the limits count it (an IPv6 client by its /64, which
    /// one subscriber usually holds whole): the peer's, unless the peer is a trusted
    /// proxy; then the nearest address in `X-Forwarded-For` that is not a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        per_subscriber(self.forwarded_client(peer, headers))
    }

    fn forwarded_client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Each proxy appends the address it was reached from: read from the right,
        // skipping the proxies we trust. A malformed entry ends the walk there: it was
        // written by someone we do not trust.
        let mut client = peer;
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            let Ok(text) = value.to_str() else {
                return client;
            };
            for entry in text.rsplit(',') {
                match entry.trim().parse::<IpAddr>() {
                    Ok(ip) => {
                        client = canonical(ip);
                        if !self.trusts(client) {
                            return client;
                        }
                    }
                    Err(_) => return client,
                }
            }
        }
        client
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv6 address with its interface half cleared.
fn per_subscriber(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// An IPv4 address seen through an IPv6 socket is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn origin_of(text: &str) -> Result<String, SiteError> {
    let url = url::Url::parse(text).map_err(|e| SiteError::NotAUrl(text.to_owned(), e))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(SiteError::NotAnOrigin(text.to_owned()));
    }
    Ok(url.origin().ascii_serialization())
}

/// The client's address, as [`Site::client`] found it for this request (set by the
/// server's outermost layer). Without that layer, the peer's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        if let Some(client) = parts.extensions.get::<ClientAddr>() {
            return Ok(*client);
        }
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| per_subscriber(canonical(peer.ip())))
                .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ))
    }
}

impl Default for ClientAddr {
    fn default() -> Self {
        Self(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for f in forwarded {
            h.append("x-forwarded-for", f.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_a_public_url_the_origin_is_the_listen_address() {
        let local = Site::new(None, "127.0.0.1:3000".parse().unwrap(), vec![]).unwrap();
        assert!(local.allows_origin("http://127.0.0.1:3000"));
        assert!(local.allows_origin("http://localhost:3000"));
        assert!(!local.allows_origin("http://localhost:3001"));
        assert!(!local.allows_origin("https://localhost:3000"));
        assert!(!local.allows_origin("null"));
        assert!(!local.https());
        // Browsers leave the default port out of `Origin`.
        let lan = Site::new(None, "192.168.1.5:80".parse().unwrap(), vec![]).unwrap();
        assert!(lan.allows_origin("http://192.168.1.5"));
        assert!(!lan.allows_origin("http://localhost"));
        let v6 = Site::new(None, "[2001:db8::1]:8080".parse().unwrap(), vec![]).unwrap();
        assert!(v6.allows_origin("http://[2001:db8::1]:8080"));
    }

    #[test]
    fn a_public_url_is_the_only_origin_and_https_is_known() {
        let site = Site::new(
            Some("https://Vote.Example.org/"),
            "127.0.0.1:3000".parse().unwrap(),
            vec![],
        )
        .unwrap();
        assert!(site.allows_origin("https://vote.example.org"));
        assert!(!site.allows_origin("http://vote.example.org"));
        assert!(!site.allows_origin("http://127.0.0.1:3000"));
        assert!(site.https());
        assert_eq!(site.base_url(&HeaderMap::new()), "https://vote.example.org");
        for bad in [
            "vote.example.org",
            "ftp://vote.example.org",
            "https://vote.example.org/ballots",
            "https://u:p@vote.example.org",
            "https://vote.example.org/?a=1",
        ] {
            assert!(
                Site::new(Some(bad), "127.0.0.1:3000".parse().unwrap(), vec![]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let site = Site::new(
            None,
            "127.0.0.1:3000".parse().unwrap(),
            vec!["10.0.0.0/8".parse().unwrap()],
        )
        .unwrap();
        // Not a proxy: the header is the client's own invention.
        assert_eq!(
            site.client(ip("203.0.113.9"), &headers(&["198.51.100.1"])),
            ip("203.0.113.9")
        );
        // A proxy: the nearest untrusted address, whatever the client prepended.
        assert_eq!(
            site.client(ip("10.0.0.2"), &headers(&["1.1.1.1, 198.51.100.1"])),
            ip("198.51.100.1")
        );
        assert_eq!(
            site.client(
                ip("10.0.0.2"),
                &headers(&["1.1.1.1", "198.51.100.1, 10.0.0.7"])
            ),
            ip("198.51.100.1")
        );
        // No header, or a malformed entry: the last address we could trust.
        assert_eq!(site.client(ip("10.0.0.2"), &headers(&[])), ip("10.0.0.2"));
        assert_eq!(
            site.client(ip("10.0.0.2"), &headers(&["junk, 10.0.0.3"])),
            ip("10.0.0.3")
        );
        // IPv4 through an IPv6 socket.
        assert_eq!(
            site.client(ip("::ffff:10.0.0.2"), &headers(&["198.51.100.1"])),
            ip("198.51.100.1")
        );
        // An IPv6 client counts by its /64.
        assert_eq!(
            site.client(ip("10.0.0.2"), &headers(&["2001:db8:1:2:aaaa::1"])),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            site.client(ip("2001:db8::7"), &headers(&[])),
            ip("2001:db8::")
        );
    }
}
