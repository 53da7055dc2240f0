"""ISO 4217 currency codes and the number of decimals (minor unit) each is paid in."""

from __future__ import annotations

from types import MappingProxyType

# (decimals, codes): the ISO 4217 minor unit of each active currency.
_TABLE = (
    (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
    (3, "BHD IQD JOD KWD LYD OMR TND"),
    (4, "CLF UYW"),
    (
        2,
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN "
        "BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
        "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR "
        "KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
        "MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD "
        "SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD "
        "TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG",
    ),
)

MINOR_UNITS = MappingProxyType(
    {code: decimals for decimals, codes in _TABLE for code in codes.split()}
)


def minor_units(currency: str) -> int:
    """Decimals the currency is paid in (JPY 0, EUR 2, KWD 3); ValueError if unknown."""
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    if not currency.isupper():
        hint = currency.upper()
        raise ValueError(f"currency codes are upper case: {currency!r} (did you mean {hint!r}?)")
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unknown ISO 4217 currency code {currency!r}") from None
