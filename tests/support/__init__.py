"""What the tests share: the program under mocks, the catalog's expectations, external tools."""
