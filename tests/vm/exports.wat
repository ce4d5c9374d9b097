;; exports.wat - one export of each kind, and a name with a NUL byte.
(module
  (func (export "f") (param i32 i64) (result f32 f64)
    (f32.const 1) (f64.const 2))
  (memory (export "m") 1)
  (table (export "t") 1 externref)
  (global (export "gi64") i64 (i64.const -7))
  (global (export "gf64") f64 (f64.const 666.6))
  (func (export "a\00b") (result i32) (i32.const 7))
  (func (export "a") (result i32) (i32.const 8))
  (func (export "echo_ref") (param externref) (result externref) (local.get 0))
)
