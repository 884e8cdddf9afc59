#![doc = "pushproxy-config"]
#![forbid(unsafe_code)]
