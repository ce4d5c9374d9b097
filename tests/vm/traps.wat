;; traps.wat - one export per trap kind, for test_vm.c. Each export traps
;; exactly as its name says; "ok_*" exports return normally.
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (memory 1)
  (table $t 4 funcref)
  (elem (i32.const 0) $forty_two $inc)
  (func $forty_two (type $v_i) (i32.const 42))
  (func $inc (type $i_i) (i32.add (local.get 0) (i32.const 1)))
  (func (export "unreachable") (unreachable))
  (func (export "memory_oob") (result i32) (i32.load (i32.const 65534)))
  (func (export "memory_oob_store") (i32.store8 (i32.const 65536) (i32.const 1)))
  (func (export "table_oob") (result funcref) (table.get $t (i32.const 4)))
  (func (export "div_zero") (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
  (func (export "rem_zero_i64") (result i64) (i64.rem_s (i64.const 7) (i64.const 0)))
  (func (export "int_overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "trunc_overflow") (result i32) (i32.trunc_f64_s (f64.const 3e9)))
  (func (export "invalid_conversion") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "undefined_element") (result i32) (call_indirect (type $v_i) (i32.const 9)))
  (func (export "uninitialized_element") (result i32) (call_indirect (type $v_i) (i32.const 2)))
  (func (export "indirect_mismatch") (result i32) (call_indirect (type $v_i) (i32.const 1)))
  (func (export "ok_indirect") (result i32) (call_indirect (type $v_i) (i32.const 0)))
  (func $forever (export "stack_exhausted") (result i32)
    (i32.add (call $forever) (i32.const 1)))
  ;; depth(n): recurses n times, returns n.
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  ;; spin: loops forever (fuel, deadline and interrupt tests).
  (func (export "spin") (loop $l (br $l)))
  ;; count(n): loops n times, returns n (fuel sized to pass).
  (func (export "count") (param i32) (result i32) (local i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br $l)))
    (local.get 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
)
