"""The only code that talks HTTP to Bitrix24: the webhook client, the portal gateway, the rate limiters."""
