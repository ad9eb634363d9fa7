//! ZooKeeper addresses as Mesos writes them: `zk://host1:2181,host2:2181/mesosim`.

use std::fmt;

use super::error::ZkError;

/// The port a host without one is reached on (ZooKeeper's default client port).
pub const DEFAULT_PORT: u16 = 2181;

/// Where the ZooKeeper ensemble is and under which path (the chroot) this cluster keeps
/// its nodes. Every path the client is given is taken relative to the chroot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkUrl {
    /// `(host, port)` pairs, tried in order.
    pub hosts: Vec<(String, u16)>,
    /// `""` for none, else a path such as `/mesosim`.
    pub chroot: String,
}

impl ZkUrl {
    /// Parses `zk://host[:port][,host[:port]]...[/path]`. IPv6 hosts are bracketed
    /// (`[::1]:2181`); a host without a port gets 2181; no path (or `/`) means no chroot.
    pub fn parse(text: &str) -> Result<ZkUrl, ZkError> {
        let bad = |why: String| ZkError::Url(format!("{text:?}: {why}"));
        let rest = text
            .strip_prefix("zk://")
            .ok_or_else(|| bad("expected zk://host:port[,host:port...]/path".into()))?;
        let (hosts, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if hosts.contains('@') {
            return Err(bad("credentials are not supported".into()));
        }
        let hosts = hosts
            .split(',')
            .map(parse_host)
            .collect::<Result<Vec<_>, String>>()
            .map_err(bad)?;
        validate_path(path).map_err(|e| bad(e.to_string()))?;
        let chroot = if path == "/" {
            String::new()
        } else {
            path.to_owned()
        };
        Ok(ZkUrl { hosts, chroot })
    }

    /// The server's path for the client's `path` (which is relative to the chroot).
    pub fn server_path(&self, path: &str) -> String {
        match (self.chroot.is_empty(), path) {
            (true, _) => path.to_owned(),
            (false, "/") => self.chroot.clone(),
            (false, _) => format!("{}{path}", self.chroot),
        }
    }

    /// The client's path for a server path, the chroot taken off (as is if outside it).
    pub fn client_path(&self, server: &str) -> String {
        if self.chroot.is_empty() {
            return server.to_owned();
        }
        match server.strip_prefix(&self.chroot) {
            Some("") => "/".to_owned(),
            Some(rest) if rest.starts_with('/') => rest.to_owned(),
            _ => server.to_owned(),
        }
    }
}

impl fmt::Display for ZkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zk://")?;
        for (i, (host, port)) in self.hosts.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            if host.contains(':') {
                write!(f, "{sep}[{host}]:{port}")?;
            } else {
                write!(f, "{sep}{host}:{port}")?;
            }
        }
        let path = if self.chroot.is_empty() { "/" } else { &self.chroot };
        write!(f, "{path}")
    }
}

impl std::str::FromStr for ZkUrl {
    type Err = ZkError;
    fn from_str(s: &str) -> Result<ZkUrl, ZkError> {
        ZkUrl::parse(s)
    }
}

/// One `host[:port]` of the host list.
fn parse_host(item: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = item.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{item:?}: unclosed ["))?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("{item:?}: expected :port after ]"))?,
                ),
            ),
        }
    } else {
        match item.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (item, None),
        }
    };
    if host.is_empty() {
        return Err(format!("empty host in {item:?}"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("{item:?}: port {p:?} is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_owned(), port))
}

/// Checks a path as ZooKeeper would: absolute, no empty, `.` or `..` component, no
/// trailing `/` (but `/` itself), no NUL or control characters.
pub fn validate_path(path: &str) -> Result<(), ZkError> {
    let bad = |why: &str| Err(ZkError::Path(format!("{path:?}: {why}")));
    if !path.starts_with('/') {
        return bad("must start with /");
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return bad("must not end with /");
    }
    if path.chars().any(|c| c.is_control()) {
        return bad("must not hold control characters");
    }
    for part in path[1..].split('/') {
        match part {
            "" => return bad("empty component"),
            "." | ".." => return bad("relative component"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_hosts_ports_and_chroot() {
        let url = ZkUrl::parse("zk://127.0.0.1:2181/mesosim").unwrap();
        assert_eq!(url.hosts, vec![("127.0.0.1".to_owned(), 2181)]);
        assert_eq!(url.chroot, "/mesosim");
        let url = ZkUrl::parse("zk://a:1,b,[::1]:3,[::2]/x/y").unwrap();
        assert_eq!(
            url.hosts,
            vec![
                ("a".to_owned(), 1),
                ("b".to_owned(), DEFAULT_PORT),
                ("::1".to_owned(), 3),
                ("::2".to_owned(), DEFAULT_PORT)
            ]
        );
        assert_eq!(url.chroot, "/x/y");
        assert_eq!(url.to_string(), "zk://a:1,b:2181,[::1]:3,[::2]:2181/x/y");
        assert_eq!(ZkUrl::parse("zk://h").unwrap().chroot, "");
        assert_eq!(ZkUrl::parse("zk://h/").unwrap().chroot, "");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (text, why) in [
            ("http://h:1/x", "expected zk://"),
            ("zk://", "empty host"),
            ("zk://a,,b/x", "empty host"),
            ("zk://h:0/x", "port"),
            ("zk://h:99999/x", "port"),
            ("zk://h:x/x", "port"),
            ("zk://u:p@h/x", "credentials"),
            ("zk://h/x/", "must not end with /"),
            ("zk://h/x//y", "empty component"),
            ("zk://h/x/../y", "relative"),
            ("zk://[::1/x", "unclosed"),
        ] {
            let err = ZkUrl::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn paths_map_through_the_chroot() {
        let url = ZkUrl::parse("zk://h/m").unwrap();
        assert_eq!(url.server_path("/"), "/m");
        assert_eq!(url.server_path("/a/b"), "/m/a/b");
        assert_eq!(url.client_path("/m"), "/");
        assert_eq!(url.client_path("/m/a"), "/a");
        assert_eq!(url.client_path("/mx"), "/mx");
        let plain = ZkUrl::parse("zk://h").unwrap();
        assert_eq!(plain.server_path("/a"), "/a");
        assert_eq!(plain.client_path("/a"), "/a");
    }
}
