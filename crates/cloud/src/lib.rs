#![doc = "pushproxy-cloud"]
#![forbid(unsafe_code)]
