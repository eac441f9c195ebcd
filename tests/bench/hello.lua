-- wrk script: POST /v1/hello with a CBOR body, asking for CBOR back.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/cbor"
wrk.headers["Accept"] = "application/cbor"
-- {"client": "wrk", "protocol": 1}
wrk.body = "\xa2\x66client\x63wrk\x68protocol\x01"
