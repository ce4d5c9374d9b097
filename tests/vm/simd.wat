;; simd.wat - uses v128: the engine must refuse it with ERR_VM_UNSUPPORTED.
(module
  (func (export "splat") (result i32)
    (i32x4.extract_lane 0 (i32x4.splat (i32.const 3)))))
