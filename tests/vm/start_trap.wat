;; start_trap.wat - a start function that traps: instantiation must fail.
(module
  (func $start (unreachable))
  (start $start))
