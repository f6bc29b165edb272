package pipeline

// Exported for the tests of package pipeline_test.
var (
	CalibrateCalls = &calibrateCalls
	Choose         = choose
)
