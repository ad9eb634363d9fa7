//! What can go wrong talking to ZooKeeper: the server's error codes by name, and the
//! client's own failures (a bad URL or path, a connection that could not be made, a reply
//! that does not parse).

use std::fmt;

/// A ZooKeeper operation failed. The server's codes (`KeeperException.Code`) that callers
/// act on have names; the rest keep their number in [`ZkError::Code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkError {
    /// The node does not exist (−101).
    NoNode,
    /// The node exists already (−110).
    NodeExists,
    /// The version named is not the node's (−103): someone else changed it first.
    BadVersion,
    /// The node has children and cannot be deleted (−111).
    NotEmpty,
    /// Ephemeral nodes cannot have children (−108).
    NoChildrenForEphemerals,
    /// Not permitted by the node's ACL (−102).
    NoAuth,
    /// The ACL is invalid (−114).
    InvalidAcl,
    /// The server refused the request's arguments (−8), or the client refused to send them.
    BadArguments,
    /// The session has expired (−112): every ephemeral node it owned is gone.
    SessionExpired,
    /// The session moved to another server (−118).
    SessionMoved,
    /// The connection broke, or no answer came, before the reply (−4): the request may or
    /// may not have been applied.
    ConnectionLoss,
    /// The server timed the operation out (−7).
    OperationTimeout,
    /// The server's system error (−1), marshalling error (−5) or unimplemented (−6).
    System(i32),
    /// Any other server code.
    Code(i32),
    /// The ZooKeeper URL does not parse.
    Url(String),
    /// The path is not a valid ZooKeeper path.
    Path(String),
    /// No server could be reached or none completed the handshake.
    Connect(String),
    /// The server sent something the protocol does not allow.
    Malformed(String),
    /// The client was closed.
    Closed,
}

impl ZkError {
    /// The error for a reply header's `err`; `None` for 0 (success).
    pub fn from_code(code: i32) -> Option<ZkError> {
        Some(match code {
            0 => return None,
            -101 => ZkError::NoNode,
            -110 => ZkError::NodeExists,
            -103 => ZkError::BadVersion,
            -111 => ZkError::NotEmpty,
            -108 => ZkError::NoChildrenForEphemerals,
            -102 => ZkError::NoAuth,
            -114 => ZkError::InvalidAcl,
            -8 => ZkError::BadArguments,
            -112 => ZkError::SessionExpired,
            -118 => ZkError::SessionMoved,
            -4 => ZkError::ConnectionLoss,
            -7 => ZkError::OperationTimeout,
            -1 | -5 | -6 => ZkError::System(code),
            other => ZkError::Code(other),
        })
    }

    /// Whether the session may still be alive and the operation worth trying again once
    /// the client is connected (as opposed to an answer, or a session gone for good).
    pub fn is_transient(&self) -> bool {
        matches!(self, ZkError::ConnectionLoss | ZkError::OperationTimeout)
    }
}

impl fmt::Display for ZkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkError::NoNode => write!(f, "no such node"),
            ZkError::NodeExists => write!(f, "the node exists"),
            ZkError::BadVersion => write!(f, "the node's version is not the one named"),
            ZkError::NotEmpty => write!(f, "the node has children"),
            ZkError::NoChildrenForEphemerals => write!(f, "an ephemeral node cannot have children"),
            ZkError::NoAuth => write!(f, "not authorised"),
            ZkError::InvalidAcl => write!(f, "invalid ACL"),
            ZkError::BadArguments => write!(f, "bad arguments"),
            ZkError::SessionExpired => write!(f, "the session expired"),
            ZkError::SessionMoved => write!(f, "the session moved to another server"),
            ZkError::ConnectionLoss => write!(f, "the connection to ZooKeeper was lost"),
            ZkError::OperationTimeout => write!(f, "the operation timed out"),
            ZkError::System(code) => write!(f, "ZooKeeper system error {code}"),
            ZkError::Code(code) => write!(f, "ZooKeeper error {code}"),
            ZkError::Url(why) => write!(f, "invalid ZooKeeper URL: {why}"),
            ZkError::Path(why) => write!(f, "invalid ZooKeeper path: {why}"),
            ZkError::Connect(why) => write!(f, "cannot connect to ZooKeeper: {why}"),
            ZkError::Malformed(why) => write!(f, "malformed reply from ZooKeeper: {why}"),
            ZkError::Closed => write!(f, "the ZooKeeper client is closed"),
        }
    }
}

impl std::error::Error for ZkError {}
