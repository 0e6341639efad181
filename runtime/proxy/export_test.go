package proxy

// RaceEnabled tells the external tests whether allocation counts can be
// checked (not under -race).
const RaceEnabled = raceEnabled
