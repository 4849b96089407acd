//! A thin, blocking Spark Connect client: runs SQL statements and queries on a Spark Connect
//! server (`sc://host:port`) and returns query results as Arrow record batches.
//!
//! The protocol is gRPC (HTTP/2) service `spark.connect.SparkConnectService`; this client uses
//! one method, `ExecutePlan`, a server stream. A statement is sent as a `SqlCommand` (Spark runs
//! it at once), a query as a plan whose root is a `SQL` relation; the server answers with Arrow
//! IPC streams (`ArrowBatch`) and ends with `ResultComplete`. The messages are declared in
//! [`proto`]. Each [`Client`] is one Spark session (a session id it chose) with its own
//! single-threaded Tokio runtime, so callers stay synchronous.

pub mod proto;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use proto::{
    Command, CommandType, ExecutePlanRequest, ExecutePlanResponse, OpType, Plan, RelType, Relation,
    ResponseType, Sql, SqlCommand, UserContext,
};
use std::fmt;
use std::time::Duration;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

const EXECUTE_PLAN: &str = "/spark.connect.SparkConnectService/ExecutePlan";

/// What went wrong talking to the server: the address was bad, the server could not be
/// reached, or it refused a statement (its message, e.g. Spark's analysis error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The `sc://` address does not parse.
    Address,
    /// No connection to the server.
    Connect,
    /// The server answered the statement with an error.
    Statement,
    /// The answer could not be read (bad Arrow data).
    Decode,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

fn error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error { kind, message: message.into() }
}

pub type Result<T> = std::result::Result<T, Error>;

/// An `sc://host:port/;key=value;...` address: the server, and the parameters after the path
/// (Spark's own ones such as `user_id`, and any the caller defines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub port: u16,
    pub params: Vec<(String, String)>,
}

impl Address {
    /// Parses `sc://host[:port][/][;key=value]*`; the port defaults to 15002, Spark's.
    pub fn parse(url: &str) -> Result<Address> {
        let rest = url.strip_prefix("sc://").ok_or_else(|| {
            error(
                ErrorKind::Address,
                format!("`{url}` is not a Spark Connect address (sc://host:port)"),
            )
        })?;
        let (server, params) = match rest.split_once(';') {
            Some((server, params)) => (server, params),
            None => (rest, ""),
        };
        let server = server.trim_end_matches('/');
        let (host, port) = match server.rsplit_once(':') {
            Some((host, port)) => {
                let port = port.parse().map_err(|_| {
                    error(ErrorKind::Address, format!("`{port}` in `{url}` is not a port number"))
                })?;
                (host, port)
            }
            None => (server, 15002),
        };
        if host.is_empty() || host.contains('/') {
            return Err(error(ErrorKind::Address, format!("`{url}` names no host")));
        }
        let mut pairs = Vec::new();
        for param in params.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').ok_or_else(|| {
                error(ErrorKind::Address, format!("`{param}` in `{url}` is not key=value"))
            })?;
            pairs.push((key.to_string(), value.to_string()));
        }
        Ok(Address { host: host.to_string(), port, params: pairs })
    }

    /// The value of parameter `key`, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A query's answer: the Arrow schema (when the server sent one) and the record batches.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub schema: Option<SchemaRef>,
    pub batches: Vec<RecordBatch>,
}

/// One Spark session over one HTTP/2 connection.
#[derive(Debug)]
pub struct Client {
    runtime: tokio::runtime::Runtime,
    grpc: tonic::client::Grpc<Channel>,
    session_id: String,
    user_id: String,
    address: Address,
}

impl Client {
    /// Connects to the server `url` names and opens a session.
    pub fn connect(url: &str) -> Result<Client> {
        let address = Address::parse(url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| error(ErrorKind::Connect, format!("cannot start the I/O runtime: {e}")))?;
        let uri = format!("http://{}:{}", address.host, address.port);
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| error(ErrorKind::Address, format!("`{url}`: {e}")))?
            .connect_timeout(Duration::from_secs(10));
        let channel = runtime.block_on(endpoint.connect()).map_err(|e| {
            error(
                ErrorKind::Connect,
                format!("cannot reach the Spark Connect server at {uri}: {e}"),
            )
        })?;
        // Large answers: a batch of rows may exceed tonic's 4 MiB default.
        let grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(256 << 20);
        let user_id = address.param("user_id").unwrap_or("tally").to_string();
        Ok(Client { runtime, grpc, session_id: new_session_id(), user_id, address })
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Runs a statement (DDL, `INSERT`, `SET`...) to its end.
    pub fn execute(&mut self, sql: &str) -> Result<()> {
        let plan = OpType::Command(Command {
            command_type: Some(CommandType::SqlCommand(SqlCommand {
                input: Some(sql_relation(sql)),
            })),
        });
        self.run(plan).map(|_| ())
    }

    /// Runs a query and returns its rows.
    pub fn query(&mut self, sql: &str) -> Result<Answer> {
        self.run(OpType::Root(sql_relation(sql)))
    }

    fn run(&mut self, op: OpType) -> Result<Answer> {
        let request = ExecutePlanRequest {
            session_id: self.session_id.clone(),
            user_context: Some(UserContext {
                user_id: self.user_id.clone(),
                user_name: String::new(),
            }),
            plan: Some(Plan { op_type: Some(op) }),
            client_type: Some("tally".to_string()),
            operation_id: None,
        };
        let grpc = &mut self.grpc;
        self.runtime.block_on(async move {
            grpc.ready()
                .await
                .map_err(|e| error(ErrorKind::Connect, format!("Spark Connect server: {e}")))?;
            let codec =
                tonic_prost::ProstCodec::<ExecutePlanRequest, ExecutePlanResponse>::default();
            let path = PathAndQuery::from_static(EXECUTE_PLAN);
            let response = grpc
                .server_streaming(tonic::Request::new(request), path, codec)
                .await
                .map_err(status_error)?;
            let mut stream = response.into_inner();
            let mut answer = Answer::default();
            while let Some(message) = stream.message().await.map_err(status_error)? {
                match message.response_type {
                    Some(ResponseType::ArrowBatch(batch)) => decode(&batch.data, &mut answer)?,
                    Some(ResponseType::ResultComplete(_)) => break,
                    _ => {}
                }
            }
            Ok(answer)
        })
    }
}

fn sql_relation(sql: &str) -> Relation {
    Relation { rel_type: Some(RelType::Sql(Sql { query: sql.to_string() })) }
}

fn status_error(status: tonic::Status) -> Error {
    match status.code() {
        tonic::Code::Unavailable => error(
            ErrorKind::Connect,
            format!("the Spark Connect server is unavailable: {}", status.message()),
        ),
        _ => error(ErrorKind::Statement, status.message().to_string()),
    }
}

/// Appends the record batches of one Arrow IPC stream.
fn decode(data: &[u8], answer: &mut Answer) -> Result<()> {
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(data), None)
        .map_err(|e| error(ErrorKind::Decode, format!("Arrow stream from Spark: {e}")))?;
    answer.schema.get_or_insert_with(|| reader.schema());
    for batch in reader {
        let batch =
            batch.map_err(|e| error(ErrorKind::Decode, format!("Arrow batch from Spark: {e}")))?;
        answer.batches.push(batch);
    }
    Ok(())
}

/// A random version 4 UUID, as Spark requires of session ids (randomness from the standard
/// library's hasher keys, which the OS seeds).
fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(i);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_their_parameters() {
        let a = Address::parse("sc://127.0.0.1:15003/;control=/tmp/c.duckdb;user_id=x")
            .expect("parses");
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 15003));
        assert_eq!(a.param("control"), Some("/tmp/c.duckdb"));
        assert_eq!(a.param("user_id"), Some("x"));
        assert_eq!(Address::parse("sc://spark").expect("parses").port, 15002);
        for bad in ["http://x:1", "sc://:1", "sc://x:port", "sc://x:1/;novalue"] {
            assert_eq!(Address::parse(bad).map_err(|e| e.kind), Err(ErrorKind::Address), "{bad}");
        }
    }

    #[test]
    fn session_ids_are_version_4_uuids_and_differ() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
