package ctrule

// For the package's external tests: what Write's pacing decided (feedPace).
var (
	NextPacedFeed = func(s *Scanner) int { return s.pace.bytes }
	PaceMin       = paceMin
	FeedSlice     = feedSlice
)
