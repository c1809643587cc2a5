// Constants of the caseline.v1 wire contract that protobuf cannot express.
#ifndef CASELINE_PROTO_CASELINE_V1_WIRE_CONSTANTS_H_
#define CASELINE_PROTO_CASELINE_V1_WIRE_CONSTANTS_H_

namespace caseline::v1 {

// Event.content_type of typed care events: the payload is a serialized
// caseline.v1.CareEvent and Event.event_type is the name of its set message.
inline constexpr char kCareEventContentType[] =
    "application/x-protobuf; messageType=caseline.v1.CareEvent";

}  // namespace caseline::v1

#endif  // CASELINE_PROTO_CASELINE_V1_WIRE_CONSTANTS_H_
