#![doc = "pushproxy-payload"]
#![forbid(unsafe_code)]
