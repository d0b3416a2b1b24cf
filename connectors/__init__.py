"""The ways in and out of the hub. A connector converts and hands over; it decides nothing."""
