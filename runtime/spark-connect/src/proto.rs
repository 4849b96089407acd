//! The Spark Connect messages this client sends and reads, written with `prost`'s derives
//! from the published protocol (package `spark.connect`, `base.proto`, `relations.proto`,
//! `commands.proto` of Apache Spark 4). Only the fields used are declared: protobuf skips the
//! fields a reader does not know, so a server's newer fields do no harm, and the tags here are
//! the protocol's own, which never change meaning.

/// `spark.connect.ExecutePlanRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(message, optional, tag = "3")]
    pub plan: Option<Plan>,
    #[prost(string, optional, tag = "4")]
    pub client_type: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub operation_id: Option<String>,
}

/// `spark.connect.UserContext`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserContext {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, tag = "2")]
    pub user_name: String,
}

/// `spark.connect.Plan`: a relation to read, or a command to run.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Plan {
    #[prost(oneof = "OpType", tags = "1, 2")]
    pub op_type: Option<OpType>,
}

/// `Plan.op_type`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum OpType {
    #[prost(message, tag = "1")]
    Root(Relation),
    #[prost(message, tag = "2")]
    Command(Command),
}

/// `spark.connect.Relation`, of which only `sql` is built here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Relation {
    #[prost(oneof = "RelType", tags = "10")]
    pub rel_type: Option<RelType>,
}

/// `Relation.rel_type`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum RelType {
    #[prost(message, tag = "10")]
    Sql(Sql),
}

/// `spark.connect.SQL`: a query's text.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sql {
    #[prost(string, tag = "1")]
    pub query: String,
}

/// `spark.connect.Command`, of which only `sql_command` is built here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Command {
    #[prost(oneof = "CommandType", tags = "5")]
    pub command_type: Option<CommandType>,
}

/// `Command.command_type`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum CommandType {
    #[prost(message, tag = "5")]
    SqlCommand(SqlCommand),
}

/// `spark.connect.SqlCommand`: a statement run at once (its `sql` field is deprecated in favour
/// of `input`, a `SQL` relation).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SqlCommand {
    #[prost(message, optional, tag = "6")]
    pub input: Option<Relation>,
}

/// `spark.connect.ExecutePlanResponse`: one of a stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, tag = "12")]
    pub operation_id: String,
    #[prost(oneof = "ResponseType", tags = "2, 5, 14")]
    pub response_type: Option<ResponseType>,
}

/// `ExecutePlanResponse.response_type`, the kinds this client reads.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ResponseType {
    #[prost(message, tag = "2")]
    ArrowBatch(ArrowBatch),
    #[prost(message, tag = "5")]
    SqlCommandResult(SqlCommandResult),
    #[prost(message, tag = "14")]
    ResultComplete(ResultComplete),
}

/// `ExecutePlanResponse.ArrowBatch`: rows as an Arrow IPC stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrowBatch {
    #[prost(int64, tag = "1")]
    pub row_count: i64,
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// `ExecutePlanResponse.SqlCommandResult` (its relation is not read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SqlCommandResult {}

/// `ExecutePlanResponse.ResultComplete`: the last response of a stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResultComplete {}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_sql_command_is_encoded_with_the_protocols_tags() {
        let request = ExecutePlanRequest {
            session_id: "s".to_string(),
            plan: Some(Plan {
                op_type: Some(OpType::Command(Command {
                    command_type: Some(CommandType::SqlCommand(SqlCommand {
                        input: Some(Relation {
                            rel_type: Some(RelType::Sql(Sql { query: "SELECT 1".to_string() })),
                        }),
                    })),
                })),
            }),
            ..Default::default()
        };
        let bytes = request.encode_to_vec();
        // session_id (1, "s"), then plan (3) > command (2) > sql_command (5) > input (6) >
        // sql (10) > query (1): each a length-delimited field, key = tag << 3 | 2.
        let query = b"SELECT 1";
        let mut expected = vec![0x0a, 1, b's', 0x1a, 18, 0x12, 16, 0x2a, 14, 0x32, 12, 0x52, 10];
        expected.extend([0x0a, 8]);
        expected.extend(query);
        assert_eq!(bytes, expected);
        assert_eq!(ExecutePlanRequest::decode(bytes.as_slice()).expect("decodes"), request);
    }
}
