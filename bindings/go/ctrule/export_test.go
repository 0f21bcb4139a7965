package ctrule

// For the package's external tests: what Write's pacing decided (feedPace).
var (
	NextPacedFeed = func(s *Scanner) int { return s.pace.bytes }
	PaceMin       = paceMin
	FeedSlice     = feedSlice
	// What an alert made by a scan holds for its JSON line, and the room
	// AppendJSON gives the line first.
	SavedLen = func(a Alert) int { return len(a.saved) }
	JSONRoom = func(a Alert) int { return jsonRoom(a.saved) }
)
