#![doc = "pushproxy-cert"]
#![forbid(unsafe_code)]
