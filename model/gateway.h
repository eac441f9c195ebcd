/* model/gateway.h: the sizes of the exchange gateway's ids (storage/gateway.h keeps them, server/ reads them). */
#ifndef OA_MODEL_GATEWAY_H
#define OA_MODEL_GATEWAY_H

#define OA_GW_SENDER_MAX 64  /* a sending system's id */
#define OA_GW_ID_LEN 64      /* hex SHA-256 */

#endif
