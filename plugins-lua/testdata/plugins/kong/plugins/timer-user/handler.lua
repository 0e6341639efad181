-- Creates timers as Kong's log plugins do (ngx.timer.at in the log
-- phase); the callbacks are closures of this state.
local TimerUser = { PRIORITY = 1, VERSION = "1.0.0" }

local runs = 0

function TimerUser:log(conf)
  local ok, err = ngx.timer.at(0, function(premature, a, b)
    runs = runs + 1
    local nested, nerr = ngx.timer.at(0, function() end)
    test_record(tostring(premature) .. " " .. a .. " " .. b .. " run " .. runs .. " nested " .. tostring(nested) .. " " .. tostring(nerr))
  end, "x", 2)
  test_record("at " .. tostring(ok) .. " " .. tostring(err) .. " pending " .. ngx.timer.pending_count())
end

return TimerUser
