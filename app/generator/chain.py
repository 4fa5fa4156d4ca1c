"""Reference data of a synthetic Brazilian retail chain: stores, sellers, catalogue, plans.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so a seed names one
chain forever. Beside the records the ingestion pipeline sees (``Store``, ``Seller``,
``Product``) the chain keeps the hidden "truth" the order stream is drawn from (store sizes,
seller performance, popularity, trends, affinities, under-performers): tests and demos of the
downstream features (trends, cross-sell, alerts, store comparison) compare what those
features find against it.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass, field

from app.records import Product, Seller, Store


@dataclass(frozen=True, slots=True)
class CommissionPlan:
    """A seller's commission: ``base_rate_bp`` of net revenue, plus ``bonus_rate_bp`` on top
    once the seller's net revenue in the period reaches ``bonus_threshold_cents``."""

    plan_id: str
    name: str
    base_rate_bp: int
    bonus_threshold_cents: int
    bonus_rate_bp: int

    def to_dict(self) -> dict[str, str | int]:
        return {
            "plan_id": self.plan_id,
            "name": self.name,
            "base_rate_bp": self.base_rate_bp,
            "bonus_threshold_cents": self.bonus_threshold_cents,
            "bonus_rate_bp": self.bonus_rate_bp,
        }


@dataclass(frozen=True)
class Chain:
    """A whole chain. The first six fields are the contract; the rest is generation truth.

    ``affinities``: SKU pairs bought together far above chance (each SKU in at most one pair).
    ``trends``: SKU -> relative daily growth of demand (+0.02 is +2 %/day); 0.0 for flat ones.
    ``store_sizes``: store_id -> relative order volume (the largest is >= 3x the smallest).
    ``seller_performance``: seller_id -> relative share of their store's orders.
    ``popularity``: SKU -> relative base demand.
    ``category_preferences``: store_id -> category -> demand multiplier (regional taste).
    ``underperformers``: (store_id, sku) pairs whose demand in that store is cut to
    ``underperformer_factor`` of normal while the product sells normally elsewhere.
    """

    stores: tuple[Store, ...]
    sellers: tuple[Seller, ...]
    products: tuple[Product, ...]
    plans: tuple[CommissionPlan, ...]
    affinities: tuple[tuple[str, str], ...]
    trends: dict[str, float]
    store_sizes: dict[str, float] = field(default_factory=dict)
    seller_performance: dict[str, float] = field(default_factory=dict)
    popularity: dict[str, float] = field(default_factory=dict)
    category_preferences: dict[str, dict[str, float]] = field(default_factory=dict)
    underperformers: tuple[tuple[str, str], ...] = ()
    underperformer_factor: float = 0.1

    def store(self, store_id: str) -> Store:
        for store in self.stores:
            if store.store_id == store_id:
                return store
        raise KeyError(store_id)

    def product(self, sku: str) -> Product:
        for product in self.products:
            if product.sku == sku:
                return product
        raise KeyError(sku)


# (city, state, IANA zone, neighbourhoods or malls a store can sit in). Zones are the real
# ones: the North and Centre-West run one or two hours behind Brasília, which is exactly
# what makes "local time" matter for the hour-of-day views.
CITIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("São Paulo", "SP", "America/Sao_Paulo", ("Paulista", "Pinheiros", "Moema", "Tatuapé")),
    ("Rio de Janeiro", "RJ", "America/Sao_Paulo", ("Copacabana", "Tijuca", "Barra")),
    ("Belo Horizonte", "MG", "America/Sao_Paulo", ("Savassi", "Pampulha")),
    ("Salvador", "BA", "America/Bahia", ("Pituba", "Barra")),
    ("Recife", "PE", "America/Recife", ("Boa Viagem", "Casa Forte")),
    ("Fortaleza", "CE", "America/Fortaleza", ("Aldeota", "Meireles")),
    ("Belém", "PA", "America/Belem", ("Nazaré", "Umarizal")),
    ("Manaus", "AM", "America/Manaus", ("Adrianópolis", "Centro")),
    ("Cuiabá", "MT", "America/Cuiaba", ("Goiabeiras", "Centro Sul")),
    ("Campo Grande", "MS", "America/Campo_Grande", ("Afonso Pena", "Centro")),
    ("Porto Velho", "RO", "America/Porto_Velho", ("Centro", "Olaria")),
    ("Rio Branco", "AC", "America/Rio_Branco", ("Centro", "Bosque")),
    ("Porto Alegre", "RS", "America/Sao_Paulo", ("Moinhos", "Cidade Baixa")),
    ("Curitiba", "PR", "America/Sao_Paulo", ("Batel", "Água Verde")),
    ("Goiânia", "GO", "America/Sao_Paulo", ("Setor Bueno", "Setor Marista")),
    ("Florianópolis", "SC", "America/Sao_Paulo", ("Trindade", "Centro")),
    ("Brasília", "DF", "America/Sao_Paulo", ("Asa Sul", "Asa Norte")),
    ("Maceió", "AL", "America/Maceio", ("Ponta Verde", "Pajuçara")),
    ("Natal", "RN", "America/Fortaleza", ("Ponta Negra", "Tirol")),
    ("Boa Vista", "RR", "America/Boa_Vista", ("Centro", "São Francisco")),
)

FIRST_NAMES: tuple[str, ...] = (
    "Ana",
    "João",
    "Maria",
    "José",
    "Antônio",
    "Francisca",
    "Luíza",
    "Lucas",
    "Gabriel",
    "Júlia",
    "Mariana",
    "Rafael",
    "Letícia",
    "Conceição",
    "Sebastião",
    "Márcia",
    "Vitória",
    "Raimundo",
    "Thaís",
    "Caio",
    "Beatriz",
    "Cauã",
    "Larissa",
    "Otávio",
    "Fábio",
    "Helena",
    "Inês",
    "Joaquim",
    "Patrícia",
    "Sérgio",
    "Cláudia",
    "Rogério",
    "Débora",
    "Vinícius",
    "Lúcia",
    "André",
    "Mônica",
    "Flávio",
    "Rita",
    "Pâmela",
)
LAST_NAMES: tuple[str, ...] = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Araújo",
    "Ribeiro",
    "Carvalho",
    "Gonçalves",
    "Conceição",
    "Magalhães",
    "Nascimento",
    "Simões",
    "Brandão",
    "Falcão",
    "Assunção",
    "Damásio",
    "Guimarães",
    "Lopes",
    "Barbosa",
    "Cavalcanti",
    "Macêdo",
    "Sá",
    "Tavares",
    "Peixoto",
)

COMMISSION_PLANS: tuple[CommissionPlan, ...] = (
    CommissionPlan("plano-iniciante", "Plano Iniciante", 200, 2_000_000, 50),
    CommissionPlan("plano-padrao", "Plano Padrão", 300, 3_500_000, 100),
    CommissionPlan("plano-senior", "Plano Sênior", 450, 6_000_000, 150),
)
# Most of a shop floor is on the standard plan; a few veterans, a few newcomers.
PLAN_WEIGHTS: tuple[float, ...] = (0.25, 0.55, 0.20)


@dataclass(frozen=True, slots=True)
class CategorySpec:
    name: str
    code: str
    min_margin: float
    max_margin: float
    weight: float
    """Share of demand before store taste: food and stationery sell often, TVs rarely."""
    items: tuple[tuple[str, int, int], ...]
    """(base name, lowest, highest shelf price in whole reais)."""


# Margins follow Brazilian retail practice: food and electronics run thin, fashion
# accessories and cosmetics fat; that spread is what makes margin views worth having.
# Price bands are per item so a mouse never costs what a TV does.
CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "Eletrônicos",
        "ELE",
        0.08,
        0.25,
        0.8,
        (
            ("Fone de Ouvido Bluetooth", 79, 399),
            ("Smartphone 128GB", 1199, 3999),
            ("Carregador USB-C", 39, 149),
            ('Smart TV 50"', 2199, 3999),
            ("Caixa de Som Portátil", 129, 899),
            ("Mouse sem Fio", 39, 199),
            ("Teclado Gamer", 149, 599),
            ("Power Bank 10000mAh", 79, 249),
            ("Smartwatch", 199, 1999),
            ('Tablet 10"', 899, 2999),
            ("Cabo HDMI 2m", 19, 79),
            ("Webcam Full HD", 149, 449),
        ),
    ),
    CategorySpec(
        "Vestuário",
        "VES",
        0.45,
        0.68,
        1.3,
        (
            ("Camiseta Básica", 29, 89),
            ("Calça Jeans", 119, 299),
            ("Vestido Floral", 99, 279),
            ("Jaqueta Corta-Vento", 149, 399),
            ("Bermuda de Sarja", 79, 179),
            ("Moletom Canguru", 119, 279),
            ("Camisa Social", 99, 249),
            ("Saia Midi", 79, 199),
            ("Blusa de Tricô", 89, 219),
            ("Pijama de Algodão", 69, 159),
            ("Regata Dry Fit", 39, 99),
            ("Meia Cano Alto (kit 3)", 24, 59),
        ),
    ),
    CategorySpec(
        "Calçados",
        "CAL",
        0.35,
        0.55,
        0.9,
        (
            ("Tênis de Corrida", 249, 799),
            ("Sandália Rasteira", 39, 129),
            ("Chinelo de Borracha", 19, 59),
            ("Bota Cano Curto", 199, 499),
            ("Sapatênis", 149, 349),
            ("Sapato Social", 179, 449),
            ("Tênis Casual", 149, 399),
            ("Sapatilha", 69, 179),
            ("Papete", 79, 199),
            ("Tênis Infantil", 89, 249),
        ),
    ),
    CategorySpec(
        "Casa",
        "CAS",
        0.30,
        0.50,
        0.9,
        (
            ("Jogo de Panelas", 199, 899),
            ("Jogo de Cama Casal", 129, 399),
            ("Toalha de Banho", 39, 119),
            ("Liquidificador", 129, 399),
            ("Air Fryer 4L", 299, 799),
            ("Cafeteira Elétrica", 119, 499),
            ("Conjunto de Copos", 39, 129),
            ("Travesseiro", 49, 199),
            ("Luminária de Mesa", 69, 249),
            ("Caixa Organizadora", 19, 89),
            ("Pano de Prato (kit 3)", 19, 49),
            ("Garrafa de Café", 39, 129),
        ),
    ),
    CategorySpec(
        "Beleza",
        "BEL",
        0.40,
        0.70,
        1.1,
        (
            ("Protetor Solar FPS 50", 39, 119),
            ("Shampoo", 14, 69),
            ("Condicionador", 14, 69),
            ("Perfume", 99, 599),
            ("Batom Matte", 19, 89),
            ("Base Líquida", 39, 199),
            ("Hidratante Corporal", 19, 79),
            ("Máscara Capilar", 24, 99),
            ("Esmalte", 6, 19),
            ("Secador de Cabelo", 129, 499),
            ("Sabonete Líquido", 9, 39),
            ("Desodorante Aerossol", 12, 29),
        ),
    ),
    CategorySpec(
        "Esporte",
        "ESP",
        0.25,
        0.45,
        0.7,
        (
            ("Bola de Futebol", 59, 249),
            ("Camisa de Time", 199, 449),
            ("Garrafa Térmica", 49, 199),
            ("Tapete de Yoga", 69, 219),
            ("Halteres 2kg (par)", 59, 149),
            ("Bicicleta Aro 29", 1199, 3499),
            ("Corda de Pular", 19, 79),
            ("Luvas de Academia", 39, 119),
            ("Mochila Esportiva", 99, 299),
            ("Caneleira", 29, 89),
            ("Boné Esportivo", 49, 129),
        ),
    ),
    CategorySpec(
        "Brinquedos",
        "BRI",
        0.30,
        0.55,
        0.6,
        (
            ("Boneca", 59, 249),
            ("Carrinho de Controle Remoto", 99, 399),
            ("Quebra-Cabeça 1000 Peças", 49, 129),
            ("Blocos de Montar", 79, 499),
            ("Jogo de Tabuleiro", 69, 249),
            ("Pelúcia", 39, 179),
            ("Massinha de Modelar", 14, 49),
            ("Pista de Carrinhos", 99, 349),
            ("Kit de Pintura", 29, 99),
            ("Bola de Vinil", 14, 39),
        ),
    ),
    CategorySpec(
        "Alimentos",
        "ALI",
        0.08,
        0.22,
        1.6,
        (
            ("Café Torrado 500g", 16, 39),
            ("Chocolate ao Leite 90g", 5, 12),
            ("Biscoito Recheado", 3, 7),
            ("Azeite Extra Virgem 500ml", 29, 69),
            ("Pão de Queijo Congelado 1kg", 19, 39),
            ("Castanha-do-Pará 200g", 19, 45),
            ("Guaraná 2L", 7, 12),
            ("Açaí 1L", 19, 45),
            ("Doce de Leite 400g", 9, 24),
            ("Paçoca (pote)", 12, 29),
            ("Goiabada 300g", 6, 15),
            ("Água Mineral 1,5L", 2, 5),
        ),
    ),
    CategorySpec(
        "Papelaria",
        "PAP",
        0.40,
        0.60,
        0.9,
        (
            ("Caderno Universitário 10 Matérias", 24, 69),
            ("Caneta Esferográfica (kit 10)", 12, 39),
            ("Lápis de Cor 24 Cores", 19, 79),
            ("Agenda", 29, 89),
            ("Mochila Escolar", 99, 349),
            ("Estojo", 19, 69),
            ("Marca-Texto", 4, 12),
            ("Fichário", 39, 119),
            ("Borracha", 2, 6),
            ("Cola Bastão", 4, 12),
        ),
    ),
    CategorySpec(
        "Acessórios",
        "ACE",
        0.55,
        0.75,
        1.0,
        (
            ("Óculos de Sol", 59, 399),
            ("Relógio Analógico", 129, 699),
            ("Bolsa Transversal", 79, 299),
            ("Carteira de Couro", 69, 199),
            ("Cinto", 49, 149),
            ("Boné", 39, 119),
            ("Brinco", 19, 99),
            ("Colar", 29, 149),
            ("Capinha de Celular", 19, 69),
            ("Guarda-Chuva", 29, 89),
            ("Película de Vidro", 14, 49),
        ),
    ),
)

# Product lines make repeated base items distinct without gendered adjectives.
PRODUCT_LINES: tuple[str, ...] = (
    "Essencial",
    "Premium",
    "Pro",
    "Plus",
    "Linha Verão",
    "Linha Tropical",
    "Max",
    "Edição Limitada",
    "Clássico",
    "Eco",
)

# Complementary category pairs a customer plausibly buys together; affinity pairs are
# drawn from these so that "cross-sell" suggestions look sensible, not random.
AFFINITY_CATEGORY_PAIRS: tuple[tuple[str, str], ...] = (
    ("Eletrônicos", "Acessórios"),
    ("Calçados", "Vestuário"),
    ("Esporte", "Vestuário"),
    ("Esporte", "Calçados"),
    ("Alimentos", "Alimentos"),
    ("Papelaria", "Papelaria"),
    ("Beleza", "Beleza"),
    ("Casa", "Casa"),
    ("Brinquedos", "Papelaria"),
    ("Casa", "Alimentos"),
    ("Vestuário", "Acessórios"),
    ("Eletrônicos", "Eletrônicos"),
)


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphenated: ``"Boa Viagem"`` -> ``"boa-viagem"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    words = "".join(ch if ch.isalnum() else " " for ch in ascii_text).split()
    return "-".join(words)


def _retail_price(rng: random.Random, low: int, high: int) -> int:
    """A price in cents drawn log-uniformly, then snapped to a shelf price ending in ,90/,99.

    Log-uniform because catalogue prices spread over orders of magnitude and cheap items
    outnumber expensive ones.
    """
    raw = math.exp(rng.uniform(math.log(low), math.log(high)))
    reais = max(int(raw // 100), 1)
    if reais >= 100:
        # Dear items end in ...9,90 or ...9,00 rather than in arbitrary digits.
        reais = (reais // 10) * 10 + 9
    cents = rng.choice((90, 90, 99)) if reais < 1_000 else rng.choice((90, 0))
    return reais * 100 + cents


def _pick_stores(rng: random.Random, count: int) -> list[tuple[str, str, str, str]]:
    """(city, state, zone, neighbourhood) for ``count`` stores; São Paulo always first.

    The flagship is fixed so every chain has a store in the most common zone; the other
    cities are a seeded sample, then further stores reuse cities (new neighbourhoods).
    """
    first, *others = CITIES
    order = [first, *rng.sample(others, len(others))]
    picked: list[tuple[str, str, str, str]] = []
    round_index = 0
    while len(picked) < count:
        # Each round visits every city once with its next neighbourhood; past a city's list
        # the same neighbourhood gets a second store (numbered -02 by the caller).
        for city, state, zone, places in order[: count - len(picked)]:
            picked.append((city, state, zone, places[round_index % len(places)]))
        round_index += 1
    return picked


def _build_stores(rng: random.Random, count: int) -> tuple[list[Store], dict[str, float]]:
    stores: list[Store] = []
    seen: dict[str, int] = {}
    for city, state, zone, place in _pick_stores(rng, count):
        base = f"{state.lower()}-{slugify(place)}"
        seen[base] = seen.get(base, 0) + 1
        store_id = f"{base}-{seen[base]:02d}"
        label = place if seen[base] == 1 else f"{place} {seen[base]}"
        name = f"Loja {label} – {city}"
        stores.append(Store(store_id, name, city, state, zone))
    # Sizes spread geometrically from 1x to 3.5x so that the biggest store clearly sells
    # more than three times the smallest, then shuffled so size is not tied to the city order.
    spread = [3.5 ** (index / max(count - 1, 1)) for index in range(count)]
    rng.shuffle(spread)
    sizes = {
        store.store_id: round(size * rng.uniform(0.95, 1.05), 4)
        for store, size in zip(stores, spread, strict=True)
    }
    return stores, sizes


def _build_sellers(
    rng: random.Random, stores: list[Store], per_store: int
) -> tuple[list[Seller], dict[str, float]]:
    sellers: list[Seller] = []
    performance: dict[str, float] = {}
    names: set[str] = set()
    for store in stores:
        for _ in range(per_store):
            while True:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                if name in names:
                    # Two surnames, as many Brazilians carry, before giving up on uniqueness.
                    name = f"{name} {rng.choice(LAST_NAMES)}"
                if name not in names:
                    break
            names.add(name)
            seller_id = f"s-{len(sellers) + 1:04d}"
            plan = rng.choices(COMMISSION_PLANS, weights=PLAN_WEIGHTS)[0]
            sellers.append(Seller(seller_id, store.store_id, name, plan.plan_id))
            # Log-normal: a couple of stars and a tail of weak sellers on every floor.
            performance[seller_id] = round(rng.lognormvariate(0.0, 0.45), 4)
    return sellers, performance


def _build_products(rng: random.Random, count: int) -> tuple[list[Product], dict[str, float]]:
    products: list[Product] = []
    popularity: dict[str, float] = {}
    names: set[str] = set()
    per_category = [count // len(CATEGORIES)] * len(CATEGORIES)
    for index in range(count % len(CATEGORIES)):
        per_category[index] += 1
    for spec, quota in zip(CATEGORIES, per_category, strict=True):
        items = list(spec.items)
        rng.shuffle(items)
        for number in range(quota):
            item, low_reais, high_reais = items[number % len(items)]
            line = rng.choice(PRODUCT_LINES)
            name = f"{item} {line}"
            while name in names:
                name = f"{item} {rng.choice(PRODUCT_LINES)} {rng.randint(2, 99)}"
            names.add(name)
            price = _retail_price(rng, low_reais * 100, high_reais * 100)
            margin = rng.uniform(spec.min_margin, spec.max_margin)
            # A few loss leaders in the thin-margin categories: sold at or below cost to pull
            # traffic, exactly what a margin alert should surface.
            if spec.min_margin < 0.1 and rng.random() < 0.08:
                margin = rng.uniform(-0.06, 0.0)
            cost = max(1, round(price * (1.0 - margin)))
            sku = f"{spec.code}-{len(products) + 1:05d}"
            products.append(Product(sku, name, spec.name, cost, price))
            popularity[sku] = round(spec.weight * rng.lognormvariate(0.0, 0.7), 5)
    return products, popularity


def _build_affinities(rng: random.Random, products: list[Product]) -> list[tuple[str, str]]:
    by_category: dict[str, list[str]] = {}
    for product in products:
        by_category.setdefault(product.category, []).append(product.sku)
    target = rng.randint(8, 15)
    used: set[str] = set()
    pairs: list[tuple[str, str]] = []
    category_pairs = list(AFFINITY_CATEGORY_PAIRS)
    # Bounded so that a tiny catalogue simply yields fewer pairs instead of looping.
    for _ in range(target * 20):
        if len(pairs) == target:
            break
        left_cat, right_cat = rng.choice(category_pairs)
        left_pool = [s for s in by_category.get(left_cat, ()) if s not in used]
        right_pool = [s for s in by_category.get(right_cat, ()) if s not in used]
        if not left_pool or not right_pool:
            continue
        left = rng.choice(left_pool)
        right_pool = [s for s in right_pool if s != left]
        if not right_pool:
            continue
        right = rng.choice(right_pool)
        used.update((left, right))
        pairs.append((left, right))
    return pairs


def _build_trends(
    rng: random.Random, products: list[Product], pinned: set[str]
) -> dict[str, float]:
    """About one product in ten rises, one in ten falls, the rest are flat.

    Affinity products stay flat so a trend cannot be mistaken for, or mask, a cross-sell
    effect in the tests and demos of either feature.
    """
    trends: dict[str, float] = {}
    for product in products:
        draw = rng.random()
        if product.sku in pinned:
            trends[product.sku] = 0.0
        elif draw < 0.10:
            trends[product.sku] = round(rng.uniform(0.012, 0.03), 4)
        elif draw < 0.20:
            trends[product.sku] = round(-rng.uniform(0.012, 0.03), 4)
        else:
            trends[product.sku] = 0.0
    return trends


def _build_underperformers(
    rng: random.Random,
    stores: list[Store],
    sizes: dict[str, float],
    products: list[Product],
    popularity: dict[str, float],
    excluded: set[str],
) -> list[tuple[str, str]]:
    """A few (store, sku) pairs that sell poorly in one store only.

    Picked among popular products and the larger stores so the shortfall is visible in a
    week of data rather than drowned in Poisson noise.
    """
    if len(stores) < 2:
        return []
    ranked = sorted(
        (p.sku for p in products if p.sku not in excluded),
        key=lambda sku: (-popularity[sku], sku),
    )
    candidates = ranked[: max(len(ranked) // 3, 1)]
    big_stores = sorted(stores, key=lambda s: (-sizes[s.store_id], s.store_id))
    big_stores = big_stores[: max(len(stores) // 2, 1)]
    count = min(rng.randint(3, 6), len(candidates))
    chosen: list[tuple[str, str]] = []
    for sku in rng.sample(candidates, count):
        chosen.append((rng.choice(big_stores).store_id, sku))
    return chosen


def build_chain(
    seed: int, stores: int = 8, sellers_per_store: int = 6, products: int = 120
) -> Chain:
    """Build a whole chain; the same arguments always give an equal ``Chain``."""
    if stores < 1 or sellers_per_store < 1 or products < len(CATEGORIES):
        raise ValueError(
            f"need at least 1 store, 1 seller per store and {len(CATEGORIES)} products"
        )
    rng = random.Random(seed)
    store_list, sizes = _build_stores(rng, stores)
    seller_list, performance = _build_sellers(rng, store_list, sellers_per_store)
    product_list, popularity = _build_products(rng, products)
    affinities = _build_affinities(rng, product_list)
    in_pairs = {sku for pair in affinities for sku in pair}
    trends = _build_trends(rng, product_list, in_pairs)
    preferences = {
        store.store_id: {spec.name: round(rng.lognormvariate(0.0, 0.3), 4) for spec in CATEGORIES}
        for store in store_list
    }
    trending = {sku for sku, growth in trends.items() if growth != 0.0}
    underperformers = _build_underperformers(
        rng, store_list, sizes, product_list, popularity, in_pairs | trending
    )
    return Chain(
        stores=tuple(store_list),
        sellers=tuple(seller_list),
        products=tuple(product_list),
        plans=COMMISSION_PLANS,
        affinities=tuple(affinities),
        trends=trends,
        store_sizes=sizes,
        seller_performance=performance,
        popularity=popularity,
        category_preferences=preferences,
        underperformers=tuple(underperformers),
    )
