/* server/version.h: the release and the protocol versions this oad speaks. */
#ifndef OA_SERVER_VERSION_H
#define OA_SERVER_VERSION_H

#define OA_VERSION "0.1.0"
#define OA_PROTOCOL_MIN 1
#define OA_PROTOCOL_MAX 1

#endif
