;; Hostile: passes out-of-range (ptr, len) pairs to every waPC import. The
;; length of the operation name picks the case (1 .. 14, see the test);
;; every case must trap naming the import, never touch host memory. Memory
;; is one page (65536 bytes).
(module
  (import "wapc" "__guest_request" (func $req (param i32 i32)))
  (import "wapc" "__guest_response" (func $resp (param i32 i32)))
  (import "wapc" "__guest_error" (func $gerr (param i32 i32)))
  (import "wapc" "__host_call"
    (func $hc (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $rlen (result i32)))
  (import "wapc" "__host_response" (func $hresp (param i32)))
  (import "wapc" "__host_error_len" (func $elen (result i32)))
  (import "wapc" "__host_error" (func $herr (param i32)))
  (import "wapc" "__console_log" (func $log (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "echo")
  (data (i32.const 32) "nope")
  (data (i32.const 64) "x")
  (func (export "__guest_call") (param $op i32) (param $n i32) (result i32)
    (block $out
    (block $b14 (block $b13 (block $b12 (block $b11 (block $b10 (block $b9 (block $b8
    (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1
      (br_table $out $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b9 $b10 $b11 $b12 $b13 $b14 $out
                (local.get $op)))
      ;; 1: operation name written past the end of memory
      (call $req (i32.const 65536) (i32.const 0)) (br $out))
      ;; 2: payload pointer that wraps around 4 GiB
      (call $req (i32.const 0) (i32.const 0xffffffff)) (br $out))
      ;; 3: response range past the end
      (call $resp (i32.const 0xffff0000) (i32.const 0x20000)) (br $out))
      ;; 4: response range that wraps
      (call $resp (i32.const 0xffffffff) (i32.const 2)) (br $out))
      ;; 5: error text past the end
      (call $gerr (i32.const 65536) (i32.const 1)) (br $out))
      ;; 6: binding past the end
      (drop (call $hc (i32.const 65536) (i32.const 1) (i32.const 16) (i32.const 4)
                      (i32.const 64) (i32.const 1) (i32.const 0) (i32.const 0))) (br $out))
      ;; 7: namespace range that wraps
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 0xfffffff0) (i32.const 0x20)
                      (i32.const 64) (i32.const 1) (i32.const 0) (i32.const 0))) (br $out))
      ;; 8: operation past the end
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 4)
                      (i32.const 65535) (i32.const 2) (i32.const 0) (i32.const 0))) (br $out))
      ;; 9: payload of 2 GiB
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 4)
                      (i32.const 64) (i32.const 1) (i32.const 0) (i32.const 0x7fffffff))) (br $out))
      ;; 10: host response (2 bytes from the echo actor) copied to the last byte
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 4)
                      (i32.const 64) (i32.const 1) (i32.const 16) (i32.const 2)))
      (if (i32.ne (call $rlen) (i32.const 2)) (then (return (i32.const 0))))
      (call $hresp (i32.const 65535)) (br $out))
      ;; 11: host error (no such target) copied to the last byte
      (drop (call $hc (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 4)
                      (i32.const 64) (i32.const 1) (i32.const 0) (i32.const 0)))
      (if (i32.eqz (call $elen)) (then (return (i32.const 0))))
      (call $herr (i32.const 65535)) (br $out))
      ;; 12: console log past the end
      (call $log (i32.const 65536) (i32.const 4)) (br $out))
      ;; 13: binding length of 2 GiB
      (drop (call $hc (i32.const 0) (i32.const 0x7fffffff) (i32.const 16) (i32.const 4)
                      (i32.const 64) (i32.const 1) (i32.const 0) (i32.const 0))) (br $out))
      ;; 14: console log range that wraps
      (call $log (i32.const 0xfffffffc) (i32.const 8)) (br $out))
    ;; reached only when a bad pointer did not trap
    (call $resp (i32.const 0) (i32.const 0))
    (i32.const 1)))
