#![doc = "pushproxy-engine"]
#![forbid(unsafe_code)]
