;; oob_data.wat - an active data segment past the end of memory.
(module
  (memory 1)
  (data (i32.const 65535) "ab"))
