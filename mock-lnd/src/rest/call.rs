//! Calling the node's own gRPC stack in-process, as lnd's REST proxy calls lnd's gRPC server: the
//! request goes through the same macaroon check and the same service code as a gRPC client's.
//!
//! Messages travel as [`DynamicMessage`]s encoded with their descriptors, so one codec serves every
//! endpoint.

use bytes::Buf;
use http::uri::PathAndQuery;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder, Streaming};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::Status;

use crate::server::GrpcStack;

/// The prefix under which grpc-gateway passes HTTP headers on as gRPC metadata
/// (`Grpc-Metadata-Macaroon: <hex>` becomes `macaroon: <hex>`).
const METADATA_HEADER_PREFIX: &str = "grpc-metadata-";

/// The gRPC metadata of a REST request: every `Grpc-Metadata-<key>` header, as `<key>`.
/// Binary (`-bin`) keys and values that are not visible ASCII are not passed on.
pub(crate) fn metadata(headers: &http::HeaderMap) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    for (name, value) in headers {
        let Some(key) = name.as_str().strip_prefix(METADATA_HEADER_PREFIX) else {
            continue;
        };
        let (Ok(key), Ok(value)) = (
            AsciiMetadataKey::from_bytes(key.as_bytes()),
            AsciiMetadataValue::try_from(value.as_bytes()),
        ) else {
            continue;
        };
        metadata.append(key, value);
    }
    metadata
}

/// One call of `method` on `stack` with `message` and `metadata`.
pub(crate) struct Call {
    /// The node's gRPC services behind their authentication.
    pub stack: GrpcStack,
    /// The called method.
    pub method: MethodDescriptor,
    /// The request.
    pub message: DynamicMessage,
    /// The request's metadata (its macaroon).
    pub metadata: MetadataMap,
}

impl Call {
    /// Calls a unary method.
    pub async fn unary(self) -> Result<DynamicMessage, Status> {
        let (mut grpc, request, path, codec) = self.prepare().await?;
        Ok(grpc.unary(request, path, codec).await?.into_inner())
    }

    /// Calls a server-streaming method; the stream yields its messages, then ends or fails.
    pub async fn server_streaming(self) -> Result<Streaming<DynamicMessage>, Status> {
        let (mut grpc, request, path, codec) = self.prepare().await?;
        Ok(grpc
            .server_streaming(request, path, codec)
            .await?
            .into_inner())
    }

    async fn prepare(
        self,
    ) -> Result<
        (
            tonic::client::Grpc<GrpcStack>,
            tonic::Request<DynamicMessage>,
            PathAndQuery,
            DynamicCodec,
        ),
        Status,
    > {
        let path = format!(
            "/{}/{}",
            self.method.parent_service().full_name(),
            self.method.name()
        );
        let path = PathAndQuery::try_from(path)
            .map_err(|error| Status::internal(format!("invalid method path: {error}")))?;
        let mut request = tonic::Request::new(self.message);
        *request.metadata_mut() = self.metadata;
        let mut grpc = tonic::client::Grpc::new(self.stack);
        if let Err(never) = grpc.ready().await {
            match never {}
        }
        let codec = DynamicCodec {
            output: self.method.output(),
        };
        Ok((grpc, request, path, codec))
    }
}

/// Encodes requests and decodes responses of type `output` by descriptor.
struct DynamicCodec {
    output: MessageDescriptor,
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.output.clone())
    }
}

struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.encoded_len());
        item.encode(dst)
            .map_err(|error| Status::internal(format!("cannot encode the request: {error}")))
    }
}

struct DynamicDecoder(MessageDescriptor);

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        DynamicMessage::decode(self.0.clone(), bytes)
            .map(Some)
            .map_err(|error| Status::internal(format!("cannot decode the response: {error}")))
    }
}
