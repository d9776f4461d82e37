"""Places of Thanh Hóa before and after the 2025 reform: the gazetteer, its sources and uses."""
