"""The sandbox: an aiohttp server that behaves like Canvas's Modules API."""
