#![doc = "pushproxy-token"]
#![forbid(unsafe_code)]
